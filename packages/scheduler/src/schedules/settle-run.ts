import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import { alertOnRunOutcome, type RunOutcomeChange } from './alert-hooks.js';

/** A slot of a schedule: its time, and how it came to be. */
export interface Slot {
  scheduleId: string;
  scheduledFor: Date;
  trigger: RunOutcomeChange['trigger'];
}

export interface Settlement {
  outcome: RunOutcomeChange['outcome'];
  reason: string | null;
  /** A skipped slot that no scheduler fired in time. */
  missed?: boolean;
  /** With `retrying`: how long until the next attempt's task is created. */
  retryInMs?: number;
}

/** Outcomes that are not final: the passes watch these. */
export const OPEN_OUTCOMES = ['running', 'retrying'] as const;

/**
 * The one way a slot gets an outcome other than `running` (which only starting an attempt sets):
 * an open run (running, retrying) is updated; a `fresh` slot that never ran (skipped, or failed
 * because its task could not be created) is inserted with it, unless it has a row already. Every
 * change goes to the alerts hook in the same transaction. Returns false when nothing changed.
 */
export async function settleRun(trx: Transaction<Database>, slot: Slot, settlement: Settlement, options: { fresh: boolean }): Promise<boolean> {
  const wasFailing = await isFailing(trx, slot.scheduleId);
  const values = {
    outcome: settlement.outcome,
    reason: settlement.reason,
    missed: settlement.missed ?? false,
    next_attempt_at: settlement.retryInMs === undefined ? null : sql<Date>`now() + ${settlement.retryInMs} * interval '1 millisecond'`,
    finished_at: settlement.outcome === 'retrying' ? null : sql<Date>`now()`,
  };
  const row = options.fresh
    ? await trx
        .insertInto('schedule_runs')
        .values({ schedule_id: slot.scheduleId, scheduled_for: slot.scheduledFor, trigger: slot.trigger, attempts: 0, ...values })
        .onConflict((oc) => oc.columns(['schedule_id', 'scheduled_for']).doNothing())
        .returning('attempts')
        .executeTakeFirst()
    : await trx
        .updateTable('schedule_runs')
        .set(values)
        .where('schedule_id', '=', slot.scheduleId)
        .where('scheduled_for', '=', slot.scheduledFor)
        .where('outcome', 'in', [...OPEN_OUTCOMES])
        .returning('attempts')
        .executeTakeFirst();
  if (!row) return false;
  await alertOnRunOutcome(trx, { ...slot, ...settlement, missed: values.missed, attempts: row.attempts, wasFailing });
  return true;
}

/**
 * Whether the schedule's last decisive slot (by when it settled) failed or was missed, i.e. no run
 * succeeded since. Runs stopped by a user and slots skipped by concurrency=forbid decide nothing.
 */
export async function isFailing(db: Kysely<Database>, scheduleId: string): Promise<boolean> {
  return (await failingSchedules(db, [scheduleId])).has(scheduleId);
}

/** Of `scheduleIds`, those failing (see isFailing), in one query. */
export async function failingSchedules(db: Kysely<Database>, scheduleIds: string[]): Promise<Set<string>> {
  if (scheduleIds.length === 0) return new Set();
  const rows = await db
    .selectFrom('schedule_runs')
    .distinctOn('schedule_id')
    .select(['schedule_id', 'outcome'])
    .where('schedule_id', 'in', scheduleIds)
    .where((eb) => eb.or([eb('outcome', 'in', ['succeeded', 'failed']), eb.and([eb('outcome', '=', 'skipped'), eb('missed', '=', true)])]))
    .orderBy('schedule_id')
    .orderBy('finished_at', 'desc')
    .orderBy('scheduled_for', 'desc')
    .execute();
  return new Set(rows.filter((row) => row.outcome !== 'succeeded').map((row) => row.schedule_id));
}
