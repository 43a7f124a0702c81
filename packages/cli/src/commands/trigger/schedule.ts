import { Args, Flags } from '@oclif/core';
import { Task, TriggeredRun } from '@tapit/protocol';
import { attachToTask } from '../../lib/attach.js';
import { BaseCommand } from '../../lib/base-command.js';
import { parseScheduleArg, schedulePath } from '../../lib/schedule-arg.js';
import { formatUtc } from '../../lib/output.js';
import { taskPath } from '../../lib/task-arg.js';

export default class TriggerSchedule extends BaseCommand {
  static summary = "Run a schedule now, outside its cron slots: one task with the schedule's settings.";
  static description = "The run is a slot of its own in the schedule's history (trigger manual), with the schedule's retries. With --wait the log is streamed and the CLI exits with the task's exit code; Ctrl-C detaches and the task goes on.";
  static examples = ['<%= config.bin %> trigger schedule schedule=9c1b7e2a', '<%= config.bin %> trigger schedule 9c1b7e2a --wait'];
  static strict = false;
  static enableJsonFlag = true;
  static args = { schedule: Args.string({ description: 'schedule=ID (an id or a unique prefix).' }) };
  static flags = {
    wait: Flags.boolean({ char: 'w', summary: 'Stream the log until the task ends and exit with its exit code.', exclusive: ['json'] }),
  };

  async run(): Promise<TriggeredRun> {
    const { argv, flags } = await this.parse(TriggerSchedule);
    const client = await this.api();
    // A trigger creates a task: sent like a create, so a retry after a lost answer runs it once.
    const run = await client.create(schedulePath(parseScheduleArg(argv as string[]), '/trigger'), {}, TriggeredRun);
    this.log(`Triggered schedule ${run.scheduleId}: slot ${formatUtc(run.scheduledFor)}`);
    if (flags.wait) {
      this.exitWith(await attachToTask(client, await client.get(taskPath(run.taskId), Task)));
      return run;
    }
    this.log(`ID:   ${run.taskId}`);
    this.log(`Follow its log with: ${this.config.bin} show logs task=${run.taskId} --follow`);
    return run;
  }
}
