import type { AuditAction, Schedule, TriggeredRun } from '@tapit/protocol';
import type { Kysely, Transaction } from 'kysely';
import { recordAudit } from '../audit/record.js';
import type { Requester } from '../audit/request-audit.js';
import { requireRole } from '../auth/permissions.js';
import type { Principal } from '../auth/tokens.js';
import type { Database } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { DomainError } from '../domain/domain-error.js';
import type { TaskSignals } from '../tasks/task-signals.js';
import { storedCronSpec } from './cron-spec-cache.js';
import { databaseNow, deleteSchedule, findSchedule, lockSchedule, pruneRuns, resumeSchedule, suspendSchedule, type ScheduleWithApp } from './repository.js';
import { toSchedules } from './schedule-view.js';
import { noEffects, startSlot } from './start-attempt.js';

/*
 * What a member may do to a schedule, for the API's routes and the dashboard's buttons alike:
 * the same permission checks, the same change and audit event in one transaction.
 */

/** A change by a member to one schedule of the token's projects, in one transaction with its audit event. */
async function changeSchedule(
  db: Kysely<Database>,
  principal: Principal,
  requester: Requester,
  id: string,
  action: AuditAction,
  apply: (trx: Transaction<Database>, schedule: ScheduleWithApp) => Promise<boolean>,
): Promise<ScheduleWithApp> {
  requireRole(principal, 'member');
  const schedule = await findSchedule(db, id, principal.project);
  await inTransaction(db, async (trx) => {
    if (!(await apply(trx, schedule))) return;
    await recordAudit(trx, { ...requester, action, targetType: 'schedule', targetId: schedule.id, project: schedule.project });
  });
  return schedule;
}

export async function deleteScheduleAs(db: Kysely<Database>, principal: Principal, requester: Requester, id: string): Promise<void> {
  await changeSchedule(db, principal, requester, id, 'schedule.delete', async (trx, schedule) => {
    await deleteSchedule(trx, schedule.id);
    return true;
  });
}

/** Suspends a schedule (a suspended one stays as it is, unaudited); the schedule as the API shows it. */
export async function suspendScheduleAs(db: Kysely<Database>, principal: Principal, requester: Requester, id: string): Promise<Schedule> {
  const schedule = await changeSchedule(db, principal, requester, id, 'schedule.suspend', (trx, s) => suspendSchedule(trx, s.id));
  return (await toSchedules(db, [await findSchedule(db, schedule.id, null)]))[0]!;
}

export async function resumeScheduleAs(db: Kysely<Database>, signals: TaskSignals, principal: Principal, requester: Requester, id: string): Promise<Schedule> {
  const schedule = await changeSchedule(db, principal, requester, id, 'schedule.resume', (trx, s) => resumeSchedule(trx, s.id, storedCronSpec(s.cron, s.timezone)));
  signals.schedulesChanged();
  return (await toSchedules(db, [await findSchedule(db, schedule.id, null)]))[0]!;
}

/**
 * Run now, outside the cron slots: a `manual` slot at the database's now, whatever the
 * concurrency policy and also while suspended. Checks the principal, then gives the transaction
 * that starts the run (the API's route runs it under its Idempotency-Key) and what to do after
 * its commit. A task that cannot be created is refused (409/400) and nothing is recorded.
 */
export async function scheduleTrigger(db: Kysely<Database>, signals: TaskSignals, principal: Principal, requester: Requester, id: string) {
  requireRole(principal, 'member');
  const found = await findSchedule(db, id, principal.project);
  const effects = noEffects();
  const start = async (trx: Transaction<Database>): Promise<TriggeredRun> => {
    const schedule = await lockSchedule(trx, found.id);
    if (!schedule) throw new DomainError('NOT_FOUND', `schedule "${found.id}" not found`, 'schedule');
    const scheduledFor = await databaseNow(trx);
    const slot = { scheduleId: schedule.id, scheduledFor, trigger: 'manual' as const };
    // One event for the one change: this request's `schedule.trigger`, not also a `schedule.fire`.
    const taskId = await startSlot(trx, schedule, slot, effects, { refuseOnError: true, audit: false });
    if (taskId === null) throw new DomainError('CONFLICT', `schedule ${schedule.id} already has a run at ${scheduledFor.toISOString()}: trigger it again`, 'schedule');
    await recordAudit(trx, {
      ...requester,
      action: 'schedule.trigger',
      targetType: 'schedule',
      targetId: schedule.id,
      project: found.project,
      details: { scheduledFor: scheduledFor.toISOString(), trigger: 'manual', attempt: 1, taskId },
    });
    return { scheduleId: schedule.id, scheduledFor: scheduledFor.toISOString(), taskId };
  };
  const afterCommit = async () => {
    // After the commit, so placement sees the task (on a replay a harmless nudge).
    signals.workAvailable();
    await pruneRuns(db, [found.id]);
  };
  return { start, afterCommit };
}
