import { Args } from '@oclif/core';
import { BaseCommand } from '../../lib/base-command.js';
import { parseTaskArg, taskPath } from '../../lib/task-arg.js';
import type { Completion } from '../../lib/completion.js';

export default class DeleteTask extends BaseCommand {
  static completion: Completion = { taskId: true };
  static summary = 'Delete a stopped task with its log.';
  static examples = ['<%= config.bin %> delete task task=55a9b03b'];
  static strict = false;
  static args = { task: Args.string({ description: 'task=ID (an id or a unique prefix).' }) };

  async run(): Promise<void> {
    const { argv } = await this.parse(DeleteTask);
    const id = parseTaskArg(argv as string[]);
    await (await this.api()).delete(taskPath(id));
    this.log(`Deleted task ${id}`);
  }
}
