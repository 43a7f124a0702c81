import type { AlertBody, AlertEvent, ScheduleRunAttempt, ScheduleRunOutcome, ScheduleRunTrigger, StopCode, TaskStatus } from '@tapit/protocol';
import { sql, type Kysely } from 'kysely';
import { newTaskId } from '../db/random-id.js';
import type { Database } from '../db/schema.js';
import { webhookTargets } from './webhooks.js';

/** Deliveries kept per schedule, newest first; older ones are deleted as new ones come (docs/schedules.md). */
export const DELIVERIES_KEPT_PER_SCHEDULE = 100;

export interface SettledRun {
  scheduleId: string;
  /** The slot (schedule_runs.scheduled_for). */
  scheduledFor: Date;
}

/**
 * The one call the schedules engine makes, in the transaction that changed a run's outcome:
 * if the outcome calls for an alert (failed, skipped, or the first success after failures) and a
 * webhook applies (the schedule's own, else its app's), the delivery is stored in that same
 * transaction, before anything is sent: it commits with the outcome or not at all, and a
 * restarted scheduler still sends it. Returns the delivery's id, or null when no alert is due.
 * Calling it again for the same outcome stores nothing more.
 */
export async function enqueueScheduleAlert(trx: Kysely<Database>, run: SettledRun): Promise<string | null> {
  const row = await trx
    .selectFrom('schedule_runs as r')
    .innerJoin('schedules as s', 's.id', 'r.schedule_id')
    .innerJoin('apps as a', 'a.id', 's.app_id')
    .select(['r.trigger', 'r.outcome', 'r.reason', 'r.finished_at', 's.cron', 's.timezone', 'a.project', 'a.stage', 'a.name as app'])
    .where('r.schedule_id', '=', run.scheduleId)
    .where('r.scheduled_for', '=', run.scheduledFor)
    .executeTakeFirst();
  if (!row) return null;
  const event = await eventFor(trx, run, row.outcome);
  if (event === null) return null;
  const target = (await webhookTargets(trx, [run.scheduleId])).get(run.scheduleId);
  if (!target) return null;

  const attempts = await slotAttempts(trx, run);
  const id = newTaskId();
  const at = row.finished_at ?? (await sql<{ now: Date }>`SELECT now() AS now`.execute(trx)).rows[0].now;
  const body: AlertBody = {
    event,
    deliveryId: id,
    schedule: { id: run.scheduleId, project: row.project, stage: row.stage, app: row.app, cron: row.cron, timezone: row.timezone },
    scheduledFor: run.scheduledFor.toISOString(),
    trigger: row.trigger as ScheduleRunTrigger,
    outcome: row.outcome as ScheduleRunOutcome,
    reason: row.reason ?? describeLastAttempt(attempts),
    attempts,
    hint: attempts.length > 0 ? `tapit show task task=${attempts[attempts.length - 1].taskId}` : `tapit show schedule schedule=${run.scheduleId}`,
    at: new Date(at).toISOString(),
  };
  const inserted = await trx
    .insertInto('webhook_deliveries')
    .values({
      id,
      schedule_id: run.scheduleId,
      scheduled_for: run.scheduledFor,
      event,
      body: JSON.stringify(body),
      url: target.url,
      next_attempt_at: sql<Date>`now()`,
    })
    .onConflict((oc) => oc.columns(['schedule_id', 'scheduled_for', 'event']).doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!inserted) return null;
  await pruneDeliveries(trx, run.scheduleId);
  return inserted.id;
}

/**
 * failed → run.failed; skipped → run.skipped; succeeded → run.recovered when the schedule's
 * previous settled run (by when it settled; runs a user stopped do not count either way) failed
 * or was skipped. Anything else (running, retrying, stopped) alerts nobody.
 */
async function eventFor(trx: Kysely<Database>, run: SettledRun, outcome: string): Promise<AlertEvent | null> {
  if (outcome === 'failed') return 'run.failed';
  if (outcome === 'skipped') return 'run.skipped';
  if (outcome !== 'succeeded') return null;
  const previous = await trx
    .selectFrom('schedule_runs')
    .select('outcome')
    .where('schedule_id', '=', run.scheduleId)
    .where('scheduled_for', '!=', run.scheduledFor)
    .where('outcome', 'in', ['succeeded', 'failed', 'skipped'])
    .orderBy(sql`coalesce(finished_at, created_at)`, 'desc')
    .orderBy('scheduled_for', 'desc')
    .limit(1)
    .executeTakeFirst();
  return previous && previous.outcome !== 'succeeded' ? 'run.recovered' : null;
}

/** The slot's tasks, first attempt first. */
async function slotAttempts(trx: Kysely<Database>, run: SettledRun): Promise<ScheduleRunAttempt[]> {
  const tasks = await trx
    .selectFrom('tasks')
    .select(['id', 'schedule_attempt', 'status', 'stop_code', 'exit_code'])
    .where('schedule_id', '=', run.scheduleId)
    .where('scheduled_for', '=', run.scheduledFor)
    .orderBy('schedule_attempt')
    .execute();
  return tasks.map((t, index) => ({
    attempt: t.schedule_attempt ?? index + 1,
    taskId: t.id,
    status: t.status as TaskStatus,
    stopCode: t.stop_code as StopCode | null,
    exitCode: t.exit_code,
  }));
}

/** A reason in words when the engine gave none: how the last attempt ended. */
function describeLastAttempt(attempts: ScheduleRunAttempt[]): string | null {
  const last = attempts[attempts.length - 1];
  if (!last?.stopCode) return null;
  const tries = attempts.length > 1 ? ` (after ${attempts.length} attempts)` : '';
  if (last.stopCode === 'EXITED') return `the task exited with code ${last.exitCode ?? 'unknown'}${tries}`;
  return `the task ended ${last.stopCode}${tries}`;
}

/** Keeps the newest DELIVERIES_KEPT_PER_SCHEDULE of the schedule's deliveries, whatever their status. */
async function pruneDeliveries(trx: Kysely<Database>, scheduleId: string): Promise<void> {
  await trx
    .deleteFrom('webhook_deliveries')
    .where('schedule_id', '=', scheduleId)
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('webhook_deliveries')
        .select('id')
        .where('schedule_id', '=', scheduleId)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .offset(DELIVERIES_KEPT_PER_SCHEDULE),
    )
    .execute();
}
