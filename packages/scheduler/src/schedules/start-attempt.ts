import type { Transaction } from 'kysely';
import { recordAudit } from '../audit/record.js';
import type { AppRow, Database, ScheduleRow } from '../db/schema.js';
import { DomainError } from '../domain/domain-error.js';
import { createTask, requestStop } from '../tasks/repository.js';
import { formatInZone } from './cron-spec.js';
import { taskRequestOf } from './repository.js';
import { settleRun, type Slot } from './settle-run.js';

/** Who the audit trail names for what the scheduler does on a schedule's behalf. */
export const SCHEDULER_ACTOR = 'scheduler';

/** What a firing did, for what follows its commit: wake-ups for tasks, pruning of the schedules' history. */
export interface FiringEffects {
  created: string[];
  stopped: string[];
  /** Schedules whose slots were handled. */
  fired: string[];
}

export const noEffects = (): FiringEffects => ({ created: [], stopped: [], fired: [] });

type FiringSchedule = Pick<ScheduleRow, 'id' | 'app_id' | 'concurrency' | 'task' | 'created_by' | 'timezone'> & {
  /** The schedule's app, when the caller has read it already in this transaction (a firing batch reads each app once). */
  app?: AppRow;
};

/** The schedule's app: as the caller read it, else read now. */
const appOf = (trx: Transaction<Database>, schedule: FiringSchedule): Promise<AppRow> =>
  schedule.app ? Promise.resolve(schedule.app) : trx.selectFrom('apps').selectAll().where('id', '=', schedule.app_id).executeTakeFirstOrThrow();

/**
 * Starts one slot in the caller's transaction: by the concurrency policy (a cron slot only; a
 * manual trigger runs whatever it says), its row, its first task linked to it, and the audit
 * event. A task that cannot be created (no release, a stored image Docker refuses) leaves the
 * slot `failed` with the reason, or with `refuseOnError` (a trigger) throws it. Returns the
 * task's id, or null when the slot did not run (skipped, failed, or another replica's already).
 */
export async function startSlot(
  trx: Transaction<Database>,
  schedule: FiringSchedule,
  slot: Slot,
  effects: FiringEffects,
  options: { refuseOnError?: boolean } = {},
): Promise<string | null> {
  if (slot.trigger === 'cron' && schedule.concurrency !== 'allow') {
    const active = await activeTasks(trx, schedule.id);
    if (schedule.concurrency === 'forbid' && active.length > 0) {
      const reason = `task ${active[0]!.id} was still running (concurrency=forbid)`;
      if (await settleRun(trx, slot, { outcome: 'skipped', reason }, { fresh: true })) await auditSkip(trx, schedule, slot, reason);
      return null;
    }
    if (schedule.concurrency === 'replace') await replaceEarlierRuns(trx, schedule, slot, active, effects);
  }
  // The slot's row is its claim: one per (schedule, slot) whoever fires it.
  const claimed = await trx
    .insertInto('schedule_runs')
    .values({ schedule_id: schedule.id, scheduled_for: slot.scheduledFor, trigger: slot.trigger, outcome: 'running', attempts: 1 })
    .onConflict((oc) => oc.columns(['schedule_id', 'scheduled_for']).doNothing())
    .returning('attempts')
    .executeTakeFirst();
  if (!claimed) return null;
  try {
    const taskId = await createAttemptTask(trx, schedule, slot, 1);
    effects.created.push(taskId);
    return taskId;
  } catch (error) {
    if (!isRefusal(error) || options.refuseOnError) throw error;
    await settleRun(trx, slot, { outcome: 'failed', reason: `could not create its task: ${error.message}` }, { fresh: false });
    return null;
  }
}

/**
 * Starts the next attempt of a run waiting to retry: a new task linked to the same slot. One
 * that cannot be created ends the run `failed`. Returns the task's id, or null.
 */
export async function startRetry(trx: Transaction<Database>, schedule: FiringSchedule, slot: Slot, attempt: number, effects: FiringEffects): Promise<string | null> {
  try {
    const taskId = await createAttemptTask(trx, schedule, slot, attempt);
    await trx
      .updateTable('schedule_runs')
      .set({ outcome: 'running', attempts: attempt, next_attempt_at: null, reason: null })
      .where('schedule_id', '=', slot.scheduleId)
      .where('scheduled_for', '=', slot.scheduledFor)
      .execute();
    effects.created.push(taskId);
    return taskId;
  } catch (error) {
    if (!isRefusal(error)) throw error;
    await settleRun(trx, slot, { outcome: 'failed', reason: `attempt ${attempt}: could not create its task: ${error.message}` }, { fresh: false });
    return null;
  }
}

/** The schedule's task for attempt `attempt` of the slot, and its audit event. */
async function createAttemptTask(trx: Transaction<Database>, schedule: FiringSchedule, slot: Slot, attempt: number): Promise<string> {
  const app = await appOf(trx, schedule);
  const link = { scheduleId: schedule.id, scheduledFor: slot.scheduledFor, attempt };
  const taskId = await createTask(trx, app, taskRequestOf(schedule.task), schedule.created_by, link);
  await recordAudit(trx, {
    actor: SCHEDULER_ACTOR,
    action: 'schedule.fire',
    targetType: 'schedule',
    targetId: schedule.id,
    project: app.project,
    details: { scheduledFor: slot.scheduledFor.toISOString(), trigger: slot.trigger, attempt, taskId },
  });
  return taskId;
}

/** The tasks of the schedule's open runs that have not stopped, oldest slot first. */
async function activeTasks(trx: Transaction<Database>, scheduleId: string): Promise<{ id: string }[]> {
  return trx
    .selectFrom('schedule_runs as r')
    .innerJoin('tasks as t', (join) =>
      join.onRef('t.schedule_id', '=', 'r.schedule_id').onRef('t.scheduled_for', '=', 'r.scheduled_for').onRef('t.schedule_attempt', '=', 'r.attempts'),
    )
    .select('t.id')
    .where('r.schedule_id', '=', scheduleId)
    .where('r.outcome', '=', 'running')
    .where('t.status', '!=', 'STOPPED')
    .orderBy('r.scheduled_for')
    .execute();
}

/**
 * concurrency=replace: each active task of the schedule is asked to stop, naming the run that
 * replaces it (its run then ends `stopped`), and runs waiting to retry end `stopped` too.
 */
async function replaceEarlierRuns(trx: Transaction<Database>, schedule: FiringSchedule, slot: Slot, active: { id: string }[], effects: FiringEffects): Promise<void> {
  const reason = `replaced by the ${formatInZone(slot.scheduledFor, schedule.timezone)} run of schedule ${schedule.id}`;
  for (const task of active) {
    await requestStop(trx, task.id, `schedule ${schedule.id}`, reason);
    effects.stopped.push(task.id);
  }
  const retrying = await trx
    .selectFrom('schedule_runs')
    .select(['scheduled_for', 'trigger'])
    .where('schedule_id', '=', schedule.id)
    .where('outcome', '=', 'retrying')
    .execute();
  for (const run of retrying) {
    const earlier = { scheduleId: schedule.id, scheduledFor: run.scheduled_for, trigger: run.trigger as Slot['trigger'] };
    await settleRun(trx, earlier, { outcome: 'stopped', reason: `its retry was ${reason}` }, { fresh: false });
  }
}

/** The audit event of a slot recorded as skipped. */
export async function auditSkip(trx: Transaction<Database>, schedule: FiringSchedule, slot: Slot, reason: string): Promise<void> {
  const app = await appOf(trx, schedule);
  await recordAudit(trx, {
    actor: SCHEDULER_ACTOR,
    action: 'schedule.skip',
    targetType: 'schedule',
    targetId: schedule.id,
    project: app.project,
    details: { scheduledFor: slot.scheduledFor.toISOString(), reason },
  });
}

/** A task refused for what it asks (no release, an invalid image): the slot's failure, not the pass's. */
function isRefusal(error: unknown): error is DomainError {
  return error instanceof DomainError;
}
