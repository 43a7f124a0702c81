import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readUntil } from '../testing/eventually.js';
import type { PassContext } from '../agents/control-passes.js';
import { TaskSignals } from '../tasks/task-signals.js';
import { endTask, runsOf, tasksOf } from '../testing/schedules.js';
import { APP_PATH, createTestApp } from '../testing/test-app.js';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';
import { startTestScheduler } from '../testing/test-scheduler.js';
import { ScheduleEngine } from './schedule-engine.js';

describe('the firing timer of a running scheduler', () => {
  let database: TestDatabase;
  let scheduler: Awaited<ReturnType<typeof startTestScheduler>>;

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    // The control loop polls once a minute: every firing below is the timer's.
    scheduler = await startTestScheduler(database, { TAPIT_POLL_INTERVAL_MS: '60000' });
    await scheduler.call('POST', APP_PATH, { name: 'clock', image: 'clock:1' });
  });
  afterAll(async () => {
    await scheduler.close();
    await database.drop();
  });

  it('fires each slot of a seconds-level schedule on its own timer, once, with its task', async () => {
    const id = (await scheduler.call('POST', `${APP_PATH}/clock/schedules`, { cron: '*/1 * * * * *', command: 'true' })).body.id as string;
    const runs = await readUntil(() => runsOf(database.db, id), (all) => all.length >= 3);
    runs.forEach((run, i) => {
      expect(run.scheduled_for.getTime()).toBe(runs[0]!.scheduled_for.getTime() + i * 1000);
      expect(run.outcome).toBe('running');
    });
    const tasks = await tasksOf(database.db, id);
    expect(tasks.slice(0, runs.length).map((t) => t.scheduled_for)).toEqual(runs.map((r) => r.scheduled_for));
    // Suspended, the timer fires nothing more.
    await scheduler.call('POST', `/v1/schedules/${id}/suspend`);
    const before = (await runsOf(database.db, id)).length;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await runsOf(database.db, id)).toHaveLength(before);
  });
});

describe('the runs pass of the control loop', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase('embedded');
  });
  afterAll(() => database.drop());

  it('reads the open runs at most once an interval, however often the loop wakes, so waiting tasks do not take the database from firing', async () => {
    const { call } = await createTestApp(database);
    await call('POST', APP_PATH, { name: 'waiting', image: 'waiting:1' });
    const id = (await call('POST', `${APP_PATH}/waiting/schedules`, { cron: '@yearly', command: 'true' })).body.id as string;
    const engine = new ScheduleEngine({
      db: database.db,
      dbKind: database.kind,
      signals: new TaskSignals(),
      missedAfterSeconds: 30,
      retryBackoffMs: 10_000,
      log: () => {},
      followRunsEveryMs: 3_600_000,
    });
    const runsPass = engine.controlPasses().find((pass) => pass.name === 'schedule runs')!;
    const context = {} as PassContext;
    const outcomeOf = async (taskId: string) => {
      const task = (await tasksOf(database.db, id)).find((t) => t.id === taskId)!;
      return (await runsOf(database.db, id)).find((r) => r.scheduled_for.getTime() === task.scheduled_for!.getTime())!.outcome;
    };

    const first = (await call('POST', `/v1/schedules/${id}/trigger`)).body.taskId as string;
    await endTask(database.db, first, 'EXITED', 0);
    await runsPass.run(context);
    expect(await outcomeOf(first)).toBe('succeeded');

    // Woken again within the interval: the pass does not read the runs.
    const second = (await call('POST', `/v1/schedules/${id}/trigger`)).body.taskId as string;
    await endTask(database.db, second, 'EXITED', 0);
    await runsPass.run(context);
    await runsPass.run(context);
    expect(await outcomeOf(second)).toBe('running');
    // What the pass would have done, done directly: the run was there to settle.
    await engine.followRuns();
    expect(await outcomeOf(second)).toBe('succeeded');
  });
});
