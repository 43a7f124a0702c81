import type { Schedule, ScheduleDetail, ScheduleRun, ScheduleRunAttempt } from '@tapit/protocol';
import type { Kysely } from 'kysely';
import type { Database, ScheduleRunRow } from '../db/schema.js';
import { formatInZone, nextSlots } from './cron-spec.js';
import { storedCronSpec } from './cron-spec-cache.js';
import type { ScheduleWithApp } from './repository.js';
import { failingSchedules } from './settle-run.js';
import { attemptsOf, slotKey } from './slot-attempts.js';
import { webhookUrlsOf } from '../alerts/webhooks.js';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function toScheduleRun(row: ScheduleRunRow, attempts: Map<string, ScheduleRunAttempt[]>): ScheduleRun {
  return {
    scheduledFor: row.scheduled_for.toISOString(),
    trigger: row.trigger as ScheduleRun['trigger'],
    outcome: row.outcome as ScheduleRun['outcome'],
    reason: row.reason,
    attempts: attempts.get(slotKey(row.schedule_id, row.scheduled_for)) ?? [],
    nextAttemptAt: iso(row.next_attempt_at),
    createdAt: row.created_at.toISOString(),
  };
}

function toSchedule(row: ScheduleWithApp, lastRun: ScheduleRun | null, failing: boolean, webhookUrl: string | null): Schedule {
  return {
    id: row.id,
    project: row.project,
    stage: row.stage,
    app: row.app_name,
    cron: row.cron,
    timezone: row.timezone,
    concurrency: row.concurrency as Schedule['concurrency'],
    missed: row.missed as Schedule['missed'],
    startingDeadlineSeconds: row.starting_deadline_seconds,
    retries: row.retries,
    task: row.task,
    suspended: row.suspended,
    failing,
    nextRunAt: row.suspended ? null : row.next_run_at.toISOString(),
    lastRun,
    webhookUrl,
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
  };
}

/** Schedules as the API shows them, with their last run and whether they are failing (a few queries for the whole page). */
export async function toSchedules(db: Kysely<Database>, rows: ScheduleWithApp[]): Promise<Schedule[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((row) => row.id);
  const lastRuns = await db
    .selectFrom('schedule_runs')
    .distinctOn('schedule_id')
    .selectAll()
    .where('schedule_id', 'in', ids)
    .orderBy('schedule_id')
    .orderBy('scheduled_for', 'desc')
    .execute();
  const attempts = await attemptsOf(db, lastRuns);
  const failing = await failingSchedules(db, ids);
  const webhooks = await webhookUrlsOf(db, ids);
  const last = new Map(lastRuns.map((run) => [run.schedule_id, toScheduleRun(run, attempts)]));
  return rows.map((row) => toSchedule(row, last.get(row.id) ?? null, failing.has(row.id), webhooks.get(row.id) ?? null));
}

/** How many upcoming slots a detail shows. */
const UPCOMING = 5;

/** One schedule with its next slots (none while suspended) and its kept runs, newest first. */
export async function toScheduleDetail(db: Kysely<Database>, row: ScheduleWithApp): Promise<ScheduleDetail> {
  const runs = await db.selectFrom('schedule_runs').selectAll().where('schedule_id', '=', row.id).orderBy('scheduled_for', 'desc').execute();
  const attempts = await attemptsOf(db, runs);
  const [schedule] = await toSchedules(db, [row]);
  const spec = storedCronSpec(row.cron, row.timezone);
  // next_run_at is the first slot not handled yet: it and the ones after it.
  const upcoming = row.suspended ? [] : nextSlots(spec, new Date(row.next_run_at.getTime() - 1), UPCOMING);
  return {
    ...schedule!,
    upcoming: upcoming.map((at) => ({ local: formatInZone(at, row.timezone), utc: at.toISOString() })),
    runs: runs.map((run) => toScheduleRun(run, attempts)),
  };
}
