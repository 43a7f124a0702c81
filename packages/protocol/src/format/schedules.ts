import type { Schedule, ScheduleRun, UpcomingRun } from '../api/schedules.js';
import { formatLabels, formatNumber, formatTimestamp, formatUtc, shellJoin, shortId, truncate } from './text.js';
import { formatCommand, formatStatus, type Details, type Listing } from './tasks.js';

/** `2021-03-18T02:30:00+01:00` (a slot in the schedule's zone) → `2021-03-18 02:30:00 +01:00`. */
export function formatLocal(local: string): string {
  const match = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.\d+)?(Z|[+-]\d\d:?\d\d)?$/.exec(local);
  if (!match) return local;
  const offset = match[3] === undefined || match[3] === 'Z' ? '+00:00' : match[3];
  return `${match[1]} ${match[2]} ${offset}`;
}

/** `failed` or `retrying (next attempt 2021-… UTC)`. */
export function formatOutcome(run: ScheduleRun): string {
  return run.outcome === 'retrying' && run.nextAttemptAt !== null ? `retrying (next attempt ${formatUtc(run.nextAttemptAt)})` : run.outcome;
}

/** `tapit list schedules`'s columns. */
export function scheduleListing(schedules: readonly Schedule[]): Listing {
  return {
    headers: ['ID', 'APP', 'EXPRESSION', 'ZONE', 'NEXT RUN (UTC)', 'LAST RUN (UTC)', 'OUTCOME', 'SUSPENDED', 'FAILING'],
    rows: schedules.map((s) => [
      shortId(s.id),
      s.app,
      truncate(s.cron, 30),
      s.timezone,
      formatTimestamp(s.nextRunAt),
      formatTimestamp(s.lastRun?.scheduledFor ?? null),
      s.lastRun === null ? '-' : s.lastRun.outcome,
      s.suspended ? 'yes' : 'no',
      // Upper case so that a failing schedule stands out in a long list.
      s.failing ? 'FAILING' : 'no',
    ]),
  };
}

/** A schedule's settings and what each of its runs creates, as `tapit show schedule` prints them. */
export function scheduleDetails(schedule: Schedule, bin = 'tapit'): Details {
  const { task } = schedule;
  const appDefault = (value: number | null, unit: string) => (value === null ? "the app's" : `${formatNumber(value)}${unit}`);
  return [
    ['ID', schedule.id],
    ['App', `${schedule.project}/${schedule.stage}/${schedule.app}`],
    ['Command', formatCommand(task.command)],
    ['Cron', schedule.cron],
    ['Time zone', schedule.timezone],
    ['Concurrency', schedule.concurrency],
    ['Missed runs', schedule.missed],
    ['Starting deadline', schedule.startingDeadlineSeconds === null ? 'none' : `${schedule.startingDeadlineSeconds}s`],
    ['Retries', String(schedule.retries)],
    ['Suspended', schedule.suspended ? `yes: no slot fires until ${bin} resume schedule schedule=${schedule.id}` : 'no'],
    ['Failing', schedule.failing ? 'FAILING: its last decisive run failed or was missed, with no success since' : 'no'],
    ['Next run', formatUtc(schedule.nextRunAt)],
    ['Last run', schedule.lastRun === null ? 'none yet' : `${formatUtc(schedule.lastRun.scheduledFor)}, ${formatOutcome(schedule.lastRun)}`],
    ['Webhook', schedule.webhookUrl ?? '-'],
    ['Entrypoint', task.entrypoint === null ? '(image default)' : shellJoin(task.entrypoint)],
    ['Release', task.image !== null ? '-' : task.release === null ? 'the active release' : String(task.release)],
    ['Image', task.image ?? (task.dockerTag === null ? "the release's" : `the release's, tag ${task.dockerTag}`)],
    ['CPU', appDefault(task.cpu, ' vCPU')],
    ['Memory', appDefault(task.memoryGb, ' GB')],
    ['Max hours', appDefault(task.maxHours, '')],
    ['Ephemeral storage', appDefault(task.ephemeralStorageGb, ' GB')],
    ['Constraints', Object.keys(task.constraints).length === 0 ? '-' : formatLabels(task.constraints)],
    ['Initiated by', task.initiatedBy ?? '-'],
    ['Created', `${formatTimestamp(schedule.createdAt)} by ${schedule.createdBy}`],
  ];
}

/** The next slots in the schedule's own zone and in UTC. */
export function upcomingListing(schedule: Pick<Schedule, 'timezone'>, upcoming: readonly UpcomingRun[]): Listing {
  return { headers: [`LOCAL (${schedule.timezone})`, 'UTC'], rows: upcoming.map((run) => [formatLocal(run.local), formatTimestamp(run.utc)]) };
}

/**
 * Recent slots, newest first: one row per attempt (a slot's later attempts on rows of their own
 * under it, their slot cells empty), and a skipped slot with the reason it was skipped.
 */
export function runHistoryListing(runs: readonly ScheduleRun[]): Listing {
  const rows = runs.flatMap((run) => {
    const slot = [formatTimestamp(run.scheduledFor), run.trigger, formatOutcome(run)];
    const reason = run.reason ?? '';
    if (run.attempts.length === 0) return [[...slot, '-', '-', '-', reason]];
    return run.attempts.map((attempt, i) => [...(i === 0 ? slot : ['', '', '']), String(attempt.attempt), shortId(attempt.taskId), formatStatus(attempt), i === 0 ? reason : '']);
  });
  return { headers: ['SLOT (UTC)', 'TRIGGER', 'OUTCOME', 'ATTEMPT', 'TASK', 'RESULT', 'REASON'], rows };
}
