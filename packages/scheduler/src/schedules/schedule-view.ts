import type { Schedule, ScheduleDetail, ScheduleRun, ScheduleRunAttempt } from '@tapit/protocol';
import type { Kysely } from 'kysely';
import type { Database, ScheduleRunRow } from '../db/schema.js';
import { formatInZone, nextSlots, parseCronSpec } from './cron-spec.js';
import type { ScheduleWithApp } from './repository.js';
import { failingSchedules } from './settle-run.js';

const iso = (d: Date | null) => (d ? d.toISOString() : null);
const slotKey = (scheduleId: string, at: Date) => `${scheduleId}|${at.getTime()}`;

/** The tasks of these slots, by slot, first attempt first. */
async function attemptsOf(db: Kysely<Database>, runs: ScheduleRunRow[]): Promise<Map<string, ScheduleRunAttempt[]>> {
  const bySlot = new Map<string, ScheduleRunAttempt[]>();
  if (runs.length === 0) return bySlot;
  const rows = await db
    .selectFrom('tasks')
    .select(['id', 'schedule_id', 'scheduled_for', 'schedule_attempt', 'status', 'stop_code', 'exit_code'])
    .where('schedule_id', 'in', [...new Set(runs.map((run) => run.schedule_id))])
    .where('scheduled_for', 'in', [...new Set(runs.map((run) => run.scheduled_for.getTime()))].map((ms) => new Date(ms)))
    .orderBy('schedule_attempt')
    .execute();
  for (const row of rows) {
    const key = slotKey(row.schedule_id!, row.scheduled_for!);
    const list = bySlot.get(key) ?? [];
    list.push({
      attempt: row.schedule_attempt ?? 1,
      taskId: row.id,
      status: row.status as ScheduleRunAttempt['status'],
      stopCode: row.stop_code as ScheduleRunAttempt['stopCode'],
      exitCode: row.exit_code,
    });
    bySlot.set(key, list);
  }
  return bySlot;
}

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

function toSchedule(row: ScheduleWithApp, lastRun: ScheduleRun | null, failing: boolean): Schedule {
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
    // Stored and shown by the alerts work (alert-hooks.ts).
    webhookUrl: null,
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
  const last = new Map(lastRuns.map((run) => [run.schedule_id, toScheduleRun(run, attempts)]));
  return rows.map((row) => toSchedule(row, last.get(row.id) ?? null, failing.has(row.id)));
}

/** How many upcoming slots a detail shows. */
const UPCOMING = 5;

/** One schedule with its next slots (none while suspended) and its kept runs, newest first. */
export async function toScheduleDetail(db: Kysely<Database>, row: ScheduleWithApp): Promise<ScheduleDetail> {
  const runs = await db.selectFrom('schedule_runs').selectAll().where('schedule_id', '=', row.id).orderBy('scheduled_for', 'desc').execute();
  const attempts = await attemptsOf(db, runs);
  const [schedule] = await toSchedules(db, [row]);
  const spec = parseCronSpec(row.cron, row.timezone);
  // next_run_at is the first slot not handled yet: it and the ones after it.
  const upcoming = row.suspended ? [] : nextSlots(spec, new Date(row.next_run_at.getTime() - 1), UPCOMING);
  return {
    ...schedule!,
    upcoming: upcoming.map((at) => ({ local: formatInZone(at, row.timezone), utc: at.toISOString() })),
    runs: runs.map((run) => toScheduleRun(run, attempts)),
  };
}
