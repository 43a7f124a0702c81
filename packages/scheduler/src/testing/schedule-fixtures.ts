import { sql, type Kysely } from 'kysely';
import { newTaskId } from '../db/random-id.js';
import type { Database } from '../db/schema.js';

/*
 * Schedules and their runs written straight into the tables, for tests of what hangs off them
 * (alerts) without the firing engine: each run is what the engine would have settled.
 */

/** A schedule of the app, as the engine would store it; returns its id. */
export async function insertSchedule(db: Kysely<Database>, appId: number, cron = '*/5 * * * *'): Promise<string> {
  const id = newTaskId();
  await db
    .insertInto('schedules')
    .values({
      id,
      app_id: appId,
      cron,
      timezone: 'UTC',
      concurrency: 'allow',
      missed: 'skip',
      starting_deadline_seconds: null,
      task: JSON.stringify({ command: ['/bin/sh', '-c', 'true'], entrypoint: null, release: null, image: null, dockerTag: null, cpu: null, memoryGb: null, maxHours: null, ephemeralStorageGb: null, initiatedBy: null, constraints: {} }),
      next_run_at: new Date(Date.now() + 3600_000),
      created_by: 'test',
    })
    .execute();
  return id;
}

export interface RunAttemptFixture {
  /** A task of the app, made a task of this slot. */
  taskId: string;
  stopCode: string;
  exitCode: number | null;
}

/** A slot whose outcome is now final (finished now), with its tasks ended as given. */
export async function settleRun(
  db: Kysely<Database>,
  run: { scheduleId: string; scheduledFor: Date; outcome: 'succeeded' | 'failed' | 'skipped' | 'stopped' | 'running'; reason?: string | null; attempts?: RunAttemptFixture[] },
): Promise<void> {
  const attempts = run.attempts ?? [];
  const final = run.outcome !== 'running';
  await db
    .insertInto('schedule_runs')
    .values({
      schedule_id: run.scheduleId,
      scheduled_for: run.scheduledFor,
      trigger: 'cron',
      outcome: run.outcome,
      reason: run.reason ?? null,
      attempts: attempts.length,
      finished_at: final ? sql<Date>`clock_timestamp()` : null,
    })
    .onConflict((oc) =>
      oc.columns(['schedule_id', 'scheduled_for']).doUpdateSet({ outcome: run.outcome, reason: run.reason ?? null, finished_at: final ? sql<Date>`clock_timestamp()` : null }),
    )
    .execute();
  for (const [index, attempt] of attempts.entries()) {
    await db
      .updateTable('tasks')
      .set({
        schedule_id: run.scheduleId,
        scheduled_for: run.scheduledFor,
        schedule_attempt: index + 1,
        status: 'STOPPED',
        desired_status: 'STOPPED',
        stop_code: attempt.stopCode,
        exit_code: attempt.exitCode,
        finished_at: new Date(),
      })
      .where('id', '=', attempt.taskId)
      .execute();
  }
}
