import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readUntil } from '../testing/eventually.js';
import { runsOf, tasksOf } from '../testing/schedules.js';
import { APP_PATH } from '../testing/test-app.js';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';
import { startTestScheduler } from '../testing/test-scheduler.js';

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
