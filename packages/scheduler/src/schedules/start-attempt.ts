import type { Transaction } from 'kysely';
import { recordAudit, recordAudits, type AuditEntry } from '../audit/record.js';
import { findRelease } from '../apps/repository.js';
import type { AppRow, Database, ScheduleRow } from '../db/schema.js';
import { DomainError } from '../domain/domain-error.js';
import { beginTasks, type NewTask } from '../tasks/lifecycle.js';
import { prepareTask, requestStop, type ReleaseLookup } from '../tasks/repository.js';
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
 * manual trigger runs whatever it says), then as `startSlots` does. Returns the task's id, or null
 * when the slot did not run (skipped, failed, or another replica's already).
 */
export async function startSlot(
  trx: Transaction<Database>,
  schedule: FiringSchedule,
  slot: Slot,
  effects: FiringEffects,
  options: StartOptions = {},
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
  return (await startSlots(trx, [{ schedule, slot }], effects, options))[0]!;
}

export interface StartOptions {
  /** A trigger: a task that cannot be created is thrown, not recorded as the slot's failure. */
  refuseOnError?: boolean;
  /**
   * Whether the start is audited here (`schedule.fire`, by the scheduler); false when the caller
   * audits it as its own change (a trigger's one `schedule.trigger` event).
   */
  audit?: boolean;
}

/** A slot to start, of a schedule whose concurrency policy lets it start. */
export interface SlotStart {
  schedule: FiringSchedule;
  slot: Slot;
}

/**
 * Starts slots whose policies are settled, in the caller's transaction, with a few statements
 * whatever their number (a firing batch starts all of its `allow` slots together): each slot's
 * row, which is its claim (one per schedule and slot, whoever fires it), its first task linked to
 * it, and the audit event. A task that cannot be created (no release, a stored image Docker
 * refuses) leaves its slot `failed` with the reason, or with `refuseOnError` (a trigger) throws
 * it. Returns, per start, the task's id or null when the slot did not run.
 */
export async function startSlots(trx: Transaction<Database>, starts: SlotStart[], effects: FiringEffects, options: StartOptions = {}): Promise<(string | null)[]> {
  if (starts.length === 0) return [];
  const claimed = await trx
    .insertInto('schedule_runs')
    .values(starts.map(({ slot }) => ({ schedule_id: slot.scheduleId, scheduled_for: slot.scheduledFor, trigger: slot.trigger, outcome: 'running', attempts: 1 })))
    .onConflict((oc) => oc.columns(['schedule_id', 'scheduled_for']).doNothing())
    .returning(['schedule_id', 'scheduled_for'])
    .execute();
  const claimedKeys = new Set(claimed.map((row) => slotKey(row.schedule_id, row.scheduled_for)));
  const attempts = starts.filter(({ slot }) => claimedKeys.has(slotKey(slot.scheduleId, slot.scheduledFor))).map((start) => ({ ...start, attempt: 1 }));
  const results = await createAttemptTasks(trx, attempts, options.audit ?? true);
  const taskOf = new Map<string, string>();
  for (const [i, result] of results.entries()) {
    const { slot } = attempts[i]!;
    if (typeof result === 'string') {
      effects.created.push(result);
      taskOf.set(slotKey(slot.scheduleId, slot.scheduledFor), result);
    } else if (options.refuseOnError) {
      throw result;
    } else {
      await settleRun(trx, slot, { outcome: 'failed', reason: `could not create its task: ${result.message}` }, { fresh: false });
    }
  }
  return starts.map(({ slot }) => taskOf.get(slotKey(slot.scheduleId, slot.scheduledFor)) ?? null);
}

const slotKey = (scheduleId: string, scheduledFor: Date) => `${scheduleId} ${scheduledFor.getTime()}`;

/**
 * Starts the next attempt of a run waiting to retry: a new task linked to the same slot. One
 * that cannot be created ends the run `failed`. Returns the task's id, or null.
 */
export async function startRetry(trx: Transaction<Database>, schedule: FiringSchedule, slot: Slot, attempt: number, effects: FiringEffects): Promise<string | null> {
  const [result] = await createAttemptTasks(trx, [{ schedule, slot, attempt }]);
  if (result instanceof DomainError) {
    await settleRun(trx, slot, { outcome: 'failed', reason: `attempt ${attempt}: could not create its task: ${result.message}` }, { fresh: false });
    return null;
  }
  await trx
    .updateTable('schedule_runs')
    .set({ outcome: 'running', attempts: attempt, next_attempt_at: null, reason: null })
    .where('schedule_id', '=', slot.scheduleId)
    .where('scheduled_for', '=', slot.scheduledFor)
    .execute();
  effects.created.push(result!);
  return result!;
}

/**
 * The schedules' tasks for attempts of slots, and their audit events: one statement per table for
 * all of them, each release read once. Per attempt, the task's id, or the DomainError that refused
 * it (what it asks: the slot's failure, not the pass's).
 */
async function createAttemptTasks(trx: Transaction<Database>, attempts: (SlotStart & { attempt: number })[], audit = true): Promise<(string | DomainError)[]> {
  const releases = new Map<string, ReturnType<ReleaseLookup>>();
  const lookup: ReleaseLookup = (db, app, number) => {
    const key = `${app.id} ${number}`;
    if (!releases.has(key)) releases.set(key, findRelease(db, app, number));
    return releases.get(key)!;
  };
  const results: (string | DomainError)[] = [];
  const tasks: NewTask[] = [];
  const audits: AuditEntry[] = [];
  for (const { schedule, slot, attempt } of attempts) {
    const app = await appOf(trx, schedule);
    const link = { scheduleId: schedule.id, scheduledFor: slot.scheduledFor, attempt };
    try {
      const task = await prepareTask(trx, { app, body: taskRequestOf(schedule.task), createdBy: schedule.created_by, link }, lookup);
      tasks.push(task);
      results.push(task.id);
      audits.push({
        actor: SCHEDULER_ACTOR,
        // As its task says: the schedule's initiatedBy.
        initiatedBy: task.initiated_by,
        action: 'schedule.fire',
        targetType: 'schedule',
        targetId: schedule.id,
        project: app.project,
        details: { scheduledFor: slot.scheduledFor.toISOString(), trigger: slot.trigger, attempt, taskId: task.id },
      });
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      results.push(error);
    }
  }
  await beginTasks(trx, tasks);
  if (audit) await recordAudits(trx, audits);
  return results;
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
