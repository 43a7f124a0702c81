import type { StopCode } from '@tapit/protocol';
import type { Kysely } from 'kysely';
import type { Database, ScheduleRunRow } from '../db/schema.js';
import type { FiringSettings } from '../schedules/firing-pass.js';
import { transition } from '../tasks/lifecycle.js';

/** Firing settings for tests: one worker; a schedule that cannot be handled fails the test. */
export function firingSettings(overrides: Partial<FiringSettings> = {}): FiringSettings {
  return {
    missedAfterSeconds: 30,
    workers: 1,
    excluded: new Set(),
    onScheduleError: (id, error) => {
      throw new Error(`schedule ${id}: ${error.message}`);
    },
    ...overrides,
  };
}

/** A schedule's runs, oldest slot first. */
export function runsOf(db: Kysely<Database>, scheduleId: string): Promise<ScheduleRunRow[]> {
  return db.selectFrom('schedule_runs').selectAll().where('schedule_id', '=', scheduleId).orderBy('scheduled_for').execute();
}

/** The tasks a schedule created, by slot and attempt. */
export function tasksOf(db: Kysely<Database>, scheduleId: string) {
  return db
    .selectFrom('tasks')
    .select(['id', 'scheduled_for', 'schedule_attempt', 'status', 'desired_status', 'stop_code', 'stop_reason', 'stopped_by'])
    .where('schedule_id', '=', scheduleId)
    .orderBy('scheduled_for')
    .orderBy('schedule_attempt')
    .execute();
}

/** As if an agent had started the task: RUNNING on `agent`. */
export async function holdRunning(db: Kysely<Database>, taskId: string, agent = 'test-agent'): Promise<void> {
  await db.transaction().execute((trx) => transition(trx, taskId, { patch: { status: 'RUNNING', agent_name: agent, started_at: new Date() } }));
}

/** As if its agent had reported the end: STOPPED with this stop code and exit code. */
export async function endTask(db: Kysely<Database>, taskId: string, stopCode: StopCode, exitCode: number | null = null, reason: string | null = null): Promise<void> {
  await db.transaction().execute((trx) =>
    transition(trx, taskId, { patch: { status: 'STOPPED', desired_status: 'STOPPED', stop_code: stopCode, exit_code: exitCode, stop_reason: reason, finished_at: new Date() } }),
  );
}

/**
 * As if no scheduler had run since `since`: the schedule's next_run_at goes back there, which is
 * what a stopped scheduler leaves behind (every slot after it unhandled).
 */
export async function leaveUnhandledSince(db: Kysely<Database>, scheduleId: string, since: Date): Promise<void> {
  await db.updateTable('schedules').set({ next_run_at: since }).where('id', '=', scheduleId).execute();
}
