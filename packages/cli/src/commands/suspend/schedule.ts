import { Args } from '@oclif/core';
import { Schedule } from '@tapit/protocol';
import { BaseCommand } from '../../lib/base-command.js';
import { parseScheduleArg, schedulePath } from '../../lib/schedule-arg.js';

export default class SuspendSchedule extends BaseCommand {
  static summary = 'Suspend a schedule: no slot fires until it is resumed (a running task goes on).';
  static examples = ['<%= config.bin %> suspend schedule schedule=9c1b7e2a'];
  static strict = false;
  static enableJsonFlag = true;
  static args = { schedule: Args.string({ description: 'schedule=ID (an id or a unique prefix).' }) };

  async run(): Promise<Schedule> {
    const { argv } = await this.parse(SuspendSchedule);
    const schedule = await (await this.api()).post(schedulePath(parseScheduleArg(argv as string[]), '/suspend'), {}, Schedule);
    this.log(`Suspended schedule ${schedule.id}: no slot fires until ${this.config.bin} resume schedule schedule=${schedule.id}`);
    return schedule;
  }
}
