import { ACTIVE_TASK_STATUSES, type TaskList } from '@tapit/protocol';
import { BaseCommand } from '../../lib/base-command.js';
import { listTasks } from '../../lib/task-list.js';
import { taskTable } from '../../lib/task-output.js';

export default class TaskIndex extends BaseCommand {
  static summary = "List the app's tasks that are not stopped yet (SetOps style).";
  static examples = ['<%= config.bin %> -a web task'];
  static enableJsonFlag = true;

  async run(): Promise<TaskList> {
    const { flags } = await this.parse(TaskIndex);
    const list = await listTasks(await this.api(), this.appScope(flags), ACTIVE_TASK_STATUSES, 500);
    this.log(list.items.length === 0 ? 'No running tasks.' : taskTable(list.items));
    return list;
  }
}
