import { Args } from '@oclif/core';
import { Task } from '@tapit/protocol';
import { BaseCommand } from '../../lib/base-command.js';
import { parseTaskArg, taskPath } from '../../lib/task-arg.js';
import type { Completion } from '../../lib/completion.js';

export default class TaskStop extends BaseCommand {
  static completion: Completion = { taskId: true };
  static summary = 'Stop a task; its log and record stay.';
  static examples = ['<%= config.bin %> task:stop 55a9b03b', '<%= config.bin %> task stop task=55a9b03b'];
  static strict = false;
  static enableJsonFlag = true;
  static args = { id: Args.string({ description: 'Task id or a unique prefix of it.' }) };

  async run(): Promise<Task> {
    const { argv } = await this.parse(TaskStop);
    const task = await (await this.api()).post(taskPath(parseTaskArg(argv as string[]), '/stop'), {}, Task);
    this.log(`Stopping task ${task.id}: status ${task.status}, desired status ${task.desiredStatus}`);
    return task;
  }
}
