import type { AlertBody, AlertEvent, ScheduleRunOutcome, ScheduleRunTrigger } from '@tapit/protocol';
import { sql, type Kysely } from 'kysely';
import { newTaskId } from '../db/random-id.js';
import type { Database } from '../db/schema.js';
import { slotAttempts } from '../schedules/slot-attempts.js';
import { webhookTargets } from './webhooks.js';

/** Deliveries kept per schedule, newest first; older ones are deleted as new ones come (docs/schedules.md). */
export const DELIVERIES_KEPT_PER_SCHEDULE = 100;

export interface ScheduleAlert {
  scheduleId: string;
  /** The slot (schedule_runs.scheduled_for). */
  scheduledFor: Date;
  event: AlertEvent;
}

/**
 * The alert a run's new outcome calls for: failed → run.failed; skipped (by a policy or missed)
 * → run.skipped; succeeded while the schedule was failing (its previous decisive run failed or
 * was missed) → run.recovered. Anything else (retrying, stopped by a user, a success after
 * successes) alerts nobody.
 */
export function alertEventFor(change: { outcome: string; wasFailing: boolean }): AlertEvent | null {
  if (change.outcome === 'failed') return 'run.failed';
  if (change.outcome === 'skipped') return 'run.skipped';
  if (change.outcome === 'succeeded' && change.wasFailing) return 'run.recovered';
  return null;
}

/**
 * Stores an alert for a settled run, in the caller's transaction (the one that changed the run's
 * outcome), when a webhook applies: the schedule's own, else its app's. The delivery commits with
 * the outcome or not at all, and is sent only after, by any replica, restarted or not. Returns
 * the delivery's id, or null when no webhook applies; the same event for the same slot is stored
 * once.
 */
export async function enqueueScheduleAlert(trx: Kysely<Database>, alert: ScheduleAlert): Promise<string | null> {
  const row = await trx
    .selectFrom('schedule_runs as r')
    .innerJoin('schedules as s', 's.id', 'r.schedule_id')
    .innerJoin('apps as a', 'a.id', 's.app_id')
    .selectAll('r')
    .select(['s.cron', 's.timezone', 'a.project', 'a.stage', 'a.name as app'])
    .where('r.schedule_id', '=', alert.scheduleId)
    .where('r.scheduled_for', '=', alert.scheduledFor)
    .executeTakeFirst();
  if (!row) return null;
  const target = (await webhookTargets(trx, [alert.scheduleId])).get(alert.scheduleId);
  if (!target) return null;

  const attempts = await slotAttempts(trx, row);
  const id = newTaskId();
  const at = row.finished_at ?? (await sql<{ now: Date }>`SELECT now() AS now`.execute(trx)).rows[0].now;
  const body: AlertBody = {
    event: alert.event,
    deliveryId: id,
    schedule: { id: alert.scheduleId, project: row.project, stage: row.stage, app: row.app, cron: row.cron, timezone: row.timezone },
    scheduledFor: alert.scheduledFor.toISOString(),
    trigger: row.trigger as ScheduleRunTrigger,
    outcome: row.outcome as ScheduleRunOutcome,
    reason: row.reason,
    attempts,
    hint: attempts.length > 0 ? `tapit show task task=${attempts[attempts.length - 1].taskId}` : `tapit show schedule schedule=${alert.scheduleId}`,
    at: new Date(at).toISOString(),
  };
  const inserted = await trx
    .insertInto('webhook_deliveries')
    .values({
      id,
      schedule_id: alert.scheduleId,
      scheduled_for: alert.scheduledFor,
      event: alert.event,
      body: JSON.stringify(body),
      url: target.url,
      next_attempt_at: sql<Date>`now()`,
    })
    .onConflict((oc) => oc.columns(['schedule_id', 'scheduled_for', 'event']).doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!inserted) return null;
  await pruneDeliveries(trx, alert.scheduleId);
  return inserted.id;
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
