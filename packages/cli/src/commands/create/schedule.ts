import { CreatedSchedule, CreateScheduleRequest, ScheduleDetail } from '@tapit/protocol';
import { Args } from '@oclif/core';
import { BaseCommand } from '../../lib/base-command.js';
import { appPath } from '../../lib/context.js';
import { parseRequest } from '../../lib/key-values.js';
import { schedulePath } from '../../lib/schedule-arg.js';
import { CREATE_SCHEDULE_KEYS } from '../../lib/schedule-keys.js';
import { scheduleDetails, upcomingRuns } from '../../lib/schedule-output.js';
import { keyNames, type Completion } from '../../lib/completion.js';

export default class CreateSchedule extends BaseCommand {
  static completion: Completion = { keys: keyNames(CREATE_SCHEDULE_KEYS) };
  static summary = 'Run a command on a cron schedule: each slot creates one task of the app.';
  static description =
    "The command is a shell line (run with /bin/sh -c). cron='EXPR': 5 fields (minute hour day month weekday), an optional leading seconds field, or a macro (@hourly, @daily, @weekly, @monthly, @yearly). Keys: timezone=ZONE (an IANA zone such as Europe/Berlin; default UTC) concurrency=allow|forbid|replace (while the previous run is still active: run anyway, skip the slot, or stop the previous run; default allow) missed=skip|latest (slots passed while no scheduler ran: record each as skipped, or run the latest once; default skip) starting_deadline=SECONDS|none (a slot not started within this long is recorded as missed) retries=N (a run that ends other than EXITED 0 is retried up to N times, 0 to 10) webhook=URL (alerts for failed, skipped and recovered runs, signed with a secret shown only this once); and every key of create task: memory=GB cpu=VCPUS docker_tag=TAG image=IMAGE release=N max_hours=H initiated_by=NAME ephemeral_storage_gb=GB constraint=KEY=VALUE. Unset task keys come from the app when each run starts.";
  static examples = [
    "<%= config.bin %> create schedule 'bin/rails db:cleanup' cron='30 2 * * *' timezone=Europe/Berlin -a web",
    "<%= config.bin %> create schedule 'bin/report' cron=@hourly concurrency=forbid retries=2 webhook=https://alerts.example.com/tapit -a web",
    "<%= config.bin %> create schedule 'echo hi' cron='*/5 * * * * *' -a demo",
  ];
  static strict = false;
  static enableJsonFlag = true;
  static args = { command: Args.string({ description: "The shell command, quoted; then cron='EXPR' and key=value options." }) };

  async run(): Promise<CreatedSchedule> {
    const { argv, flags } = await this.parse(CreateSchedule);
    const body = parseRequest(CreateScheduleRequest, argv as string[], CREATE_SCHEDULE_KEYS);
    const client = await this.api();
    const created = await client.create(`${appPath(this.appScope(flags))}/schedules`, body, CreatedSchedule);
    if (this.jsonEnabled()) return created;
    this.log(scheduleDetails(created, this.config.bin));
    // The next slots come with the schedule's detail; the schedule exists whether or not that
    // read works, so a failure there only shortens what is printed.
    const detail = await client.get(schedulePath(created.id), ScheduleDetail).catch(() => undefined);
    if (detail) this.log(`\n${upcomingRuns(detail, detail.upcoming)}`);
    if (created.webhookSecret !== null) {
      this.log(`\nWebhook signing secret, shown only this once (it will not be shown again; keep it where the receiver checks signatures):`);
      this.log(created.webhookSecret);
    }
    this.log(`\nWatch it with: ${this.config.bin} show schedule schedule=${created.id}`);
    return created;
  }
}
