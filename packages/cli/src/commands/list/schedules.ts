import { Flags } from '@oclif/core';
import { ScheduleList } from '@tapit/protocol';
import { BaseCommand } from '../../lib/base-command.js';
import { listPaged } from '../../lib/paged-list.js';
import { scheduleTable } from '../../lib/schedule-output.js';

export default class ListSchedules extends BaseCommand {
  static summary = "List an app's schedules: expression, zone, next run, last run and its outcome, suspended, failing.";
  static examples = ['<%= config.bin %> list schedules -a web', '<%= config.bin %> list schedules --all-apps'];
  static enableJsonFlag = true;
  static flags = {
    limit: Flags.integer({ summary: 'At most this many schedules.', default: 50, min: 1 }),
    'all-apps': Flags.boolean({ summary: 'Schedules of every app of the stage (no -a needed).' }),
  };

  async run(): Promise<ScheduleList> {
    const { flags } = await this.parse(ListSchedules);
    const scope = flags['all-apps'] ? { ...this.scope(flags), app: undefined } : this.appScope(flags, ', or use --all-apps');
    const list = await listPaged(await this.api(), '/v1/schedules', ScheduleList, scope, flags.limit);
    this.log(scheduleTable(list.items));
    return list;
  }
}
