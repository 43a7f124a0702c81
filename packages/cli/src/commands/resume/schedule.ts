import { Args } from '@oclif/core';
import { Schedule } from '@tapit/protocol';
import { BaseCommand } from '../../lib/base-command.js';
import { parseScheduleArg, schedulePath } from '../../lib/schedule-arg.js';
import { formatUtc } from '../../lib/output.js';

export default class ResumeSchedule extends BaseCommand {
  static summary = 'Resume a suspended schedule: its slots fire again from the next one on.';
  static examples = ['<%= config.bin %> resume schedule schedule=9c1b7e2a'];
  static strict = false;
  static enableJsonFlag = true;
  static args = { schedule: Args.string({ description: 'schedule=ID (an id or a unique prefix).' }) };

  async run(): Promise<Schedule> {
    const { argv } = await this.parse(ResumeSchedule);
    const schedule = await (await this.api()).post(schedulePath(parseScheduleArg(argv as string[]), '/resume'), {}, Schedule);
    this.log(`Resumed schedule ${schedule.id}: next run ${formatUtc(schedule.nextRunAt)}`);
    return schedule;
  }
}
