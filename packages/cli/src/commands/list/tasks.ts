import { Flags } from '@oclif/core';
import type { TaskList } from '@tapit/protocol';
import { BaseCommand } from '../../lib/base-command.js';
import { listTasks, parseStatuses } from '../../lib/task-list.js';
import { taskTable } from '../../lib/task-output.js';

export default class ListTasks extends BaseCommand {
  static summary = "List an app's tasks, newest first.";
  static examples = ['<%= config.bin %> list tasks -a web', '<%= config.bin %> list tasks --status RUNNING,PENDING --all-apps'];
  static enableJsonFlag = true;
  static flags = {
    status: Flags.string({ summary: 'Only these statuses, comma-separated: PROVISIONING, PENDING, RUNNING, STOPPING, STOPPED.' }),
    limit: Flags.integer({ summary: 'At most this many tasks.', default: 50, min: 1 }),
    'all-apps': Flags.boolean({ summary: 'Tasks of every app of the stage (no -a needed).' }),
  };

  async run(): Promise<TaskList> {
    const { flags } = await this.parse(ListTasks);
    const scope = flags['all-apps'] ? { ...this.scope(flags), app: undefined } : this.appScope(flags, ', or use --all-apps');
    const statuses = flags.status === undefined ? undefined : parseStatuses(flags.status);
    const list = await listTasks(await this.api(), scope, statuses, flags.limit);
    this.log(taskTable(list.items));
    return list;
  }
}
