import { Args } from '@oclif/core';
import { ScheduleDetail } from '@tapit/protocol';
import { BaseCommand } from '../../lib/base-command.js';
import { parseScheduleArg, schedulePath } from '../../lib/schedule-arg.js';
import { runHistory, scheduleDetails, upcomingRuns } from '../../lib/schedule-output.js';

export default class ShowSchedule extends BaseCommand {
  static summary = 'Show a schedule: its settings, the next 5 runs in its zone and in UTC, and its recent runs.';
  static description = "Each recent slot shows how it came (cron or trigger), its outcome, each attempt's task with its stop code and exit code, and why a slot was skipped or failed.";
  static examples = ['<%= config.bin %> show schedule schedule=9c1b7e2a'];
  static strict = false;
  static enableJsonFlag = true;
  static args = { schedule: Args.string({ description: 'schedule=ID (an id or a unique prefix).' }) };

  async run(): Promise<ScheduleDetail> {
    const { argv } = await this.parse(ShowSchedule);
    const detail = await (await this.api()).get(schedulePath(parseScheduleArg(argv as string[])), ScheduleDetail);
    this.log(`${scheduleDetails(detail, this.config.bin)}\n\n${upcomingRuns(detail, detail.upcoming)}\n\n${runHistory(detail.runs)}`);
    return detail;
  }
}
