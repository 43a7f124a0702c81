import { sql, type Kysely, type Transaction } from 'kysely';
import { coerceError, isDatabaseUnavailable } from '../db/errors.js';
import type { AppRow, Database, ScheduleRow } from '../db/schema.js';
import { storedCronSpec } from './cron-spec-cache.js';
import { settleRun } from './settle-run.js';
import { planSlots } from './slot-plan.js';
import { auditSkip, noEffects, startSlot, startSlots, type FiringEffects, type SlotStart } from './start-attempt.js';
import type { MissedRunPolicy } from '@tapit/protocol';

export interface FiringSettings {
  /** TAPIT_SCHEDULE_MISSED_AFTER_SECONDS. */
  missedAfterSeconds: number;
  /** Transactions this replica runs at once (each handles up to FIRING_BATCH schedules). */
  workers: number;
  /**
   * Schedules left alone for now: one whose slots could not be handled is added (and told to
   * onScheduleError); its owner takes it out again after a while, so it cannot hold up the others.
   */
  excluded: Set<string>;
  onScheduleError: (scheduleId: string, error: Error) => void;
  /** True once the pass should end early (the scheduler is shutting down). */
  stopping?: () => boolean;
}

/**
 * Fires every due schedule, exactly once across replicas: each worker takes the most overdue
 * schedules `FOR UPDATE SKIP LOCKED` (a few at a time; another replica's worker takes the next
 * ones) and, in that one transaction, handles every slot of each from its next_run_at up to the
 * database's now: each slot's row (unique per schedule and slot), its task, its audit event, and
 * the schedule's next_run_at. A schedule that fails is left for the next pass and does not hold
 * up the others.
 */
export async function fireDueSchedules(db: Kysely<Database>, settings: FiringSettings): Promise<FiringEffects> {
  const effects = noEffects();
  // Most passes find nothing due: one plain query says so, without a transaction per worker.
  let due = db.selectFrom('schedules').select('id').where('suspended', '=', false).where('next_run_at', '<=', sql<Date>`now()`);
  if (settings.excluded.size > 0) due = due.where('id', 'not in', [...settings.excluded]);
  if (!(await due.limit(1).executeTakeFirst())) return effects;
  const worker = async () => {
    let size = FIRING_BATCH;
    while (!settings.stopping?.()) {
      const batch = await fireNextDue(db, settings, effects, size);
      if (batch === 'none left') break;
      if (batch === 'one at a time') size = 1;
      // The embedded database answers without waiting on I/O: without a turn of the event loop
      // between batches, a long pass would hold the API and the agents' websockets to its end.
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, settings.workers) }, worker));
  return effects;
}

/**
 * Due schedules one firing transaction takes. A transaction per schedule costs three statements
 * of its own (begin, the claim, commit) beside the firing's few; a batch shares them and starts
 * its slots together (`startSlots`: a statement per table for all), and still holds its row locks
 * for a short while only, so the other workers and replicas take the next batch meanwhile.
 */
export const FIRING_BATCH = 10;

type Batch = 'none left' | 'done' | 'one at a time';

/**
 * Handles a batch of due schedules, most overdue first. A schedule that fails rolls its batch
 * back: it is left alone for a while, and the others, still due, are taken again at once. When
 * what failed is shared by the batch (its slots are started together), the worker goes on one
 * schedule at a time, so the next failure names its schedule.
 */
async function fireNextDue(db: Kysely<Database>, settings: FiringSettings, effects: FiringEffects, size: number): Promise<Batch> {
  let picked: string[] = [];
  let handling: string | null = null;
  const own = noEffects();
  try {
    await db.transaction().execute(async (trx) => {
      let due = trx
        .selectFrom('schedules')
        .selectAll()
        .select(sql<Date>`date_trunc('milliseconds', now())`.as('db_now'))
        .where('suspended', '=', false)
        .where('next_run_at', '<=', sql<Date>`now()`)
        .orderBy('next_run_at')
        .limit(size)
        .forUpdate()
        .skipLocked();
      if (settings.excluded.size > 0) due = due.where('id', 'not in', [...settings.excluded]);
      const schedules = await due.execute();
      picked = schedules.map((s) => s.id);
      if (picked.length === 0) return;
      // Each app once for the batch, not once per slot.
      const appIds = [...new Set(schedules.map((s) => s.app_id))];
      const apps = new Map((await trx.selectFrom('apps').selectAll().where('id', 'in', appIds).execute()).map((app) => [app.id, app]));
      const starts: SlotStart[] = [];
      const nextRuns: [string, Date][] = [];
      for (const schedule of schedules) {
        handling = schedule.id;
        nextRuns.push([schedule.id, await fireSchedule(trx, { ...schedule, app: apps.get(schedule.app_id) }, schedule.db_now, settings, own, starts)]);
      }
      handling = null;
      await startSlots(trx, starts, own);
      await setNextRuns(trx, nextRuns);
    });
  } catch (error) {
    if (isDatabaseUnavailable(error)) throw error;
    const culprit = handling ?? (picked.length === 1 ? picked[0]! : null);
    if (culprit === null) {
      if (picked.length === 0) throw error;
      return 'one at a time';
    }
    settings.excluded.add(culprit);
    settings.onScheduleError(culprit, coerceError(error));
    return 'done';
  }
  // Only what committed is signalled.
  effects.created.push(...own.created);
  effects.stopped.push(...own.stopped);
  effects.fired.push(...own.fired);
  return picked.length > 0 ? 'done' : 'none left';
}

/** The batch's schedules' next_run_at, in one statement. */
async function setNextRuns(trx: Transaction<Database>, nextRuns: [string, Date][]): Promise<void> {
  if (nextRuns.length === 0) return;
  const values = sql.join(nextRuns.map(([id, next]) => sql`(${id}, ${next.toISOString()}::timestamptz)`));
  await sql`UPDATE schedules SET next_run_at = v.next FROM (VALUES ${values}) AS v(id, next) WHERE schedules.id = v.id`.execute(trx);
}

/**
 * Every slot of one locked, due schedule up to `now`, by its policies. Slots of an `allow`
 * schedule are added to `starts`, for the batch to start together; the others, whose policy looks
 * at the schedule's running tasks, start here. Returns the schedule's next next_run_at.
 */
async function fireSchedule(
  trx: Transaction<Database>,
  schedule: ScheduleRow & { app?: AppRow },
  now: Date,
  settings: FiringSettings,
  effects: FiringEffects,
  starts: SlotStart[],
): Promise<Date> {
  const spec = storedCronSpec(schedule.cron, schedule.timezone);
  const plan = await planSlots(spec, {
    from: schedule.next_run_at,
    now,
    missedAfterSeconds: settings.missedAfterSeconds,
    missed: schedule.missed as MissedRunPolicy,
    startingDeadlineSeconds: schedule.starting_deadline_seconds,
  });
  for (const step of plan.steps) {
    const slot = { scheduleId: schedule.id, scheduledFor: step.at, trigger: 'cron' as const };
    if (step.action === 'fire' && schedule.concurrency === 'allow') starts.push({ schedule, slot });
    else if (step.action === 'fire') await startSlot(trx, schedule, slot, effects);
    else if (await settleRun(trx, slot, { outcome: 'skipped', reason: step.reason, missed: true }, { fresh: true })) await auditSkip(trx, schedule, slot, step.reason);
  }
  effects.fired.push(schedule.id);
  return plan.next;
}
