import { Args } from '@oclif/core';
import { Task } from '@tapit/protocol';
import { BaseCommand } from '../../lib/base-command.js';
import { parseTaskArg, taskPath } from '../../lib/task-arg.js';
import { taskDetails } from '../../lib/task-output.js';

export default class ShowTask extends BaseCommand {
  static summary = 'Show a task: status, stop reason, exit code, timings, resources and usage.';
  static examples = ['<%= config.bin %> show task task=55a9b03b'];
  static strict = false;
  static enableJsonFlag = true;
  static args = { task: Args.string({ description: 'task=ID (an id or a unique prefix).' }) };

  async run(): Promise<Task> {
    const { argv } = await this.parse(ShowTask);
    const task = await (await this.api()).get(taskPath(parseTaskArg(argv as string[])), Task);
    this.log(taskDetails(task));
    return task;
  }
}
