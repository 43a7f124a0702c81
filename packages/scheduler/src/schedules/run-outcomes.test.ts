import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/schema.js';
import { readUntil } from '../testing/eventually.js';
import { endTask, runsOf, tasksOf } from '../testing/schedules.js';
import { APP_PATH, createTestApp } from '../testing/test-app.js';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';
import { settleFinishedRuns, startDueRetries } from './run-outcomes.js';

const BACKOFF_MS = 150;
const dbNow = async (db: Kysely<Database>) => (await sql<{ now: Date }>`SELECT clock_timestamp() AS now`.execute(db)).rows[0]!.now.getTime();

describe('run outcomes and retries', () => {
  let database: TestDatabase;
  let call: Awaited<ReturnType<typeof createTestApp>>['call'];
  const trigger = async (id: string) => (await call('POST', `/v1/schedules/${id}/trigger`)).body as { taskId: string; scheduledFor: string };
  const settle = async () => {
    const before = await dbNow(database.db);
    await settleFinishedRuns(database.db, BACKOFF_MS);
    return { before, after: await dbNow(database.db) };
  };
  const runOf = async (id: string, scheduledFor: string) => (await runsOf(database.db, id)).find((r) => r.scheduled_for.toISOString() === scheduledFor)!;

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    ({ call } = await createTestApp(database));
    await call('POST', APP_PATH, { name: 'flaky', image: 'flaky:1' });
  });
  afterAll(() => database.drop());

  it('retries a failed run up to N times with doubling waits, each attempt its own task of the same slot, then fails', async () => {
    const id = (await call('POST', `${APP_PATH}/flaky/schedules`, { cron: '@yearly', command: 'exit 1', retries: 2 })).body.id as string;
    const { taskId: first, scheduledFor } = await trigger(id);
    const ends: [string, number | null][] = [['EXITED', 1], ['OOM_KILLED', 137]];
    let taskId = first;
    for (const [attempt, [stopCode, exitCode]] of ends.entries()) {
      await endTask(database.db, taskId, stopCode as 'EXITED', exitCode);
      const { before, after } = await settle();
      const wait = BACKOFF_MS * 2 ** attempt;
      const run = await runOf(id, scheduledFor);
      expect(run).toMatchObject({ outcome: 'retrying', attempts: attempt + 1, finished_at: null });
      expect(run.reason).toBe(`task ${taskId} (attempt ${attempt + 1} of 3) ended ${stopCode} (exit code ${exitCode}); retrying in ${wait / 1000} s`);
      // Set from the database's clock: its now at settling plus the wait.
      expect(run.next_attempt_at!.getTime()).toBeGreaterThanOrEqual(before + wait - 1);
      expect(run.next_attempt_at!.getTime()).toBeLessThanOrEqual(after + wait + 1);
      const tasks = await readUntil(
        async () => {
          await startDueRetries(database.db);
          return tasksOf(database.db, id);
        },
        (tasks) => tasks.length === attempt + 2,
      );
      const next = tasks.at(-1)!;
      expect(next).toMatchObject({ schedule_attempt: attempt + 2, status: 'PROVISIONING' });
      expect(next.scheduled_for!.toISOString()).toBe(scheduledFor);
      expect(await runOf(id, scheduledFor)).toMatchObject({ outcome: 'running', attempts: attempt + 2, next_attempt_at: null, reason: null });
      taskId = next.id;
    }
    const shown = await call('GET', `/v1/tasks/${taskId}`);
    expect(shown.body).toMatchObject({ scheduleId: id, scheduledFor });

    await endTask(database.db, taskId, 'EXITED', 2);
    await settle();
    const failed = await runOf(id, scheduledFor);
    expect(failed).toMatchObject({ outcome: 'failed', attempts: 3, next_attempt_at: null, reason: `task ${taskId} (attempt 3 of 3) ended EXITED (exit code 2)` });
    expect(failed.finished_at).not.toBeNull();
    // No fourth attempt, however long one waits.
    await new Promise((resolve) => setTimeout(resolve, BACKOFF_MS * 8));
    await startDueRetries(database.db);
    expect(await tasksOf(database.db, id)).toHaveLength(3);
    const detail = (await call('GET', `/v1/schedules/${id}`)).body;
    expect(detail.failing).toBe(true);
    expect(detail.runs[0].attempts.map((a: { attempt: number; stopCode: string }) => [a.attempt, a.stopCode])).toEqual([[1, 'EXITED'], [2, 'OOM_KILLED'], [3, 'EXITED']]);

    // The first success after failures clears `failing`.
    const ok = await trigger(id);
    await endTask(database.db, ok.taskId, 'EXITED', 0);
    await settle();
    expect(await runOf(id, ok.scheduledFor)).toMatchObject({ outcome: 'succeeded', attempts: 1, reason: null });
    expect((await call('GET', `/v1/schedules/${id}`)).body).toMatchObject({ failing: false, lastRun: { outcome: 'succeeded' } });
  });

  it('never retries a run a user stopped; a run whose task was deleted ends failed', async () => {
    const id = (await call('POST', `${APP_PATH}/flaky/schedules`, { cron: '@yearly', command: 'sleep 60', retries: 3 })).body.id as string;
    const stopped = await trigger(id);
    expect((await call('POST', `/v1/tasks/${stopped.taskId}/stop`)).status).toBe(202);
    await settle();
    expect(await runOf(id, stopped.scheduledFor)).toMatchObject({ outcome: 'stopped', attempts: 1, reason: `task ${stopped.taskId} was stopped by bootstrap` });
    await startDueRetries(database.db);

    const gone = await trigger(id);
    await endTask(database.db, gone.taskId, 'EXITED', 0);
    expect((await call('DELETE', `/v1/tasks/${gone.taskId}`)).status).toBe(204);
    await settle();
    expect(await runOf(id, gone.scheduledFor)).toMatchObject({ outcome: 'failed', reason: 'the task of attempt 1 was deleted before its outcome was recorded' });
    expect((await tasksOf(database.db, id)).map((t) => t.id)).toEqual([stopped.taskId]);
  });

  it('holds a due retry while the schedule is suspended, and starts it once resumed', async () => {
    const id = (await call('POST', `${APP_PATH}/flaky/schedules`, { cron: '@yearly', command: 'exit 1', retries: 1 })).body.id as string;
    const { taskId, scheduledFor } = await trigger(id);
    await endTask(database.db, taskId, 'EXITED', 1);
    await settle();
    await call('POST', `/v1/schedules/${id}/suspend`);
    await new Promise((resolve) => setTimeout(resolve, BACKOFF_MS * 2));
    await startDueRetries(database.db);
    expect(await runOf(id, scheduledFor)).toMatchObject({ outcome: 'retrying', attempts: 1 });
    await call('POST', `/v1/schedules/${id}/resume`);
    await startDueRetries(database.db);
    expect(await runOf(id, scheduledFor)).toMatchObject({ outcome: 'running', attempts: 2 });
  });
});
