import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../db/client.js';
import { createTestApp, APP_PATH } from '../testing/test-app.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../testing/test-database.js';
import { firingSettings, leaveUnhandledSince, runsOf, tasksOf } from '../testing/schedules.js';
import { fireDueSchedules, FIRING_BATCH } from './firing-pass.js';
import { HISTORY_LIMIT } from './limits.js';
import { databaseNow, pruneRuns } from './repository.js';

const SECOND = 1000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(DATABASE_KINDS)('firing schedules on %s', (kind) => {
  let database: TestDatabase;
  let call: Awaited<ReturnType<typeof createTestApp>>['call'];
  const create = async (body: Record<string, unknown>, app = 'nightly') =>
    (await call('POST', `${APP_PATH}/${app}/schedules`, { command: 'true', ...body })).body.id as string;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    ({ call } = await createTestApp(database));
    await call('POST', APP_PATH, { name: 'nightly', image: 'nightly:1' });
  });
  afterAll(() => database.drop());

  it('fires each due slot once, from the database clock, with a linked task and audit event', async () => {
    const id = await create({ cron: '*/1 * * * * *', concurrency: 'allow', initiatedBy: 'nightly-ops' });
    const start = (await database.db.selectFrom('schedules').select('next_run_at').where('id', '=', id).executeTakeFirstOrThrow()).next_run_at;
    await sleep(2200);
    await fireDueSchedules(database.db, firingSettings());
    // Nothing new is due right after a pass: a second one adds nothing for the same slots.
    const runs = await runsOf(database.db, id);
    expect(runs.length).toBeGreaterThanOrEqual(2);
    runs.forEach((run, i) => {
      expect(run.scheduled_for.getTime()).toBe(start.getTime() + i * SECOND);
      expect(run).toMatchObject({ trigger: 'cron', outcome: 'running', attempts: 1, reason: null });
    });
    const tasks = await tasksOf(database.db, id);
    expect(tasks.map((t) => [t.scheduled_for!.getTime(), t.schedule_attempt])).toEqual(runs.map((r) => [r.scheduled_for.getTime(), 1]));
    const schedule = await database.db.selectFrom('schedules').select('next_run_at').where('id', '=', id).executeTakeFirstOrThrow();
    expect(schedule.next_run_at.getTime()).toBe(runs.at(-1)!.scheduled_for.getTime() + SECOND);
    const fired = await database.db.selectFrom('audit_events').select(['actor', 'initiated_by', 'details']).where('target_id', '=', id).where('action', '=', 'schedule.fire').execute();
    expect(fired.map((e) => (e.details as { taskId: string }).taskId).sort()).toEqual(tasks.map((t) => t.id).sort());
    // By the scheduler, on behalf of whom the schedule names, as its tasks are.
    expect(new Set(fired.map((e) => `${e.actor} ${e.initiated_by}`))).toEqual(new Set(['scheduler nightly-ops']));
    await call('DELETE', `/v1/schedules/${id}`);
  });

  it('records a slot whose task cannot be created as failed, moves on, and keeps only the newest runs', async () => {
    await call('POST', APP_PATH, { name: 'broken', image: 'broken:1' });
    await database.db.updateTable('releases').set({ image: 'broken/../x' }).where('image', '=', 'broken:1').execute();
    const id = await create({ cron: '*/1 * * * * *' }, 'broken');
    const now = await databaseNow(database.db);
    await leaveUnhandledSince(database.db, id, new Date(Math.floor(now.getTime() / SECOND) * SECOND - 150 * SECOND));
    const { fired } = await fireDueSchedules(database.db, firingSettings({ missedAfterSeconds: 3600 }));
    expect(fired).toContain(id);
    expect((await runsOf(database.db, id)).length).toBeGreaterThanOrEqual(150);
    await pruneRuns(database.db, fired);
    const runs = await runsOf(database.db, id);
    expect(runs).toHaveLength(HISTORY_LIMIT);
    for (const run of runs) {
      expect(run.outcome).toBe('failed');
      expect(run.reason).toMatch(/^could not create its task: the image of release 1, "broken\/\.\.\/x", is not a valid image reference/);
    }
    expect(await tasksOf(database.db, id)).toEqual([]);
    const schedule = await database.db.selectFrom('schedules').select('next_run_at').where('id', '=', id).executeTakeFirstOrThrow();
    expect(schedule.next_run_at.getTime()).toBeGreaterThan(now.getTime());
    expect((await call('GET', `/v1/schedules/${id}`)).body).toMatchObject({ failing: true, lastRun: { outcome: 'failed' } });
  });

  it('takes due schedules a batch at a time; one that cannot be handled is left alone, the others of its batch fire all the same', async () => {
    await call('POST', APP_PATH, { name: 'batched', image: 'batched:1' });
    const ids: string[] = [];
    for (let i = 0; i < FIRING_BATCH + 5; i++) ids.push(await create({ cron: '*/1 * * * * *' }, 'batched'));
    const bad = ids[3]!;
    // A stored expression that no longer parses: handling this schedule throws.
    await database.db.updateTable('schedules').set({ cron: 'not a cron' }).where('id', '=', bad).execute();
    const now = await databaseNow(database.db);
    const from = new Date(Math.floor(now.getTime() / SECOND) * SECOND - 3 * SECOND);
    for (const id of ids) await leaveUnhandledSince(database.db, id, from);
    const errors: string[] = [];
    const settings = firingSettings({ onScheduleError: (id) => errors.push(id) });
    const { fired } = await fireDueSchedules(database.db, settings);
    expect(errors).toEqual([bad]);
    expect([...settings.excluded]).toEqual([bad]);
    expect(await runsOf(database.db, bad)).toEqual([]);
    for (const id of ids.filter((other) => other !== bad)) {
      expect(fired).toContain(id);
      const runs = await runsOf(database.db, id);
      expect(runs.length).toBeGreaterThanOrEqual(4);
      runs.forEach((run, i) => expect(run.scheduled_for.getTime()).toBe(from.getTime() + i * SECOND));
      const tasks = await tasksOf(database.db, id);
      expect(tasks.map((t) => [t.scheduled_for!.getTime(), t.schedule_attempt])).toEqual(runs.map((r) => [r.scheduled_for.getTime(), 1]));
    }
    for (const id of ids) await call('DELETE', `/v1/schedules/${id}`);
  });

  it('starts the slots of a batch together: the statements of a batch do not grow with its schedules', async () => {
    await call('POST', APP_PATH, { name: 'counted', image: 'counted:1' });
    const now = await databaseNow(database.db);
    const from = new Date(Math.floor(now.getTime() / SECOND) * SECOND - SECOND);
    // Statements a pass runs when `count` schedules each have a slot or more due.
    const statementsFor = async (count: number) => {
      const ids: string[] = [];
      for (let i = 0; i < count; i++) ids.push(await create({ cron: '*/1 * * * * *' }, 'counted'));
      for (const id of ids) await leaveUnhandledSince(database.db, id, from);
      let statements = 0;
      const counting = database.db.withPlugin({
        transformQuery: (args) => {
          statements++;
          return args.node;
        },
        transformResult: async (args) => args.result,
      });
      // Only these: earlier tests' schedules may be due too.
      const others = await database.db.selectFrom('schedules').select('id').where('id', 'not in', ids).execute();
      // One batch only: on a slow machine a batch outlasting a second makes these every-second
      // schedules due again, and the pass would go on with a second one.
      let batches = 0;
      const oneBatch = { workers: 1, stopping: () => batches++ > 0 };
      const { created } = await fireDueSchedules(counting, firingSettings({ ...oneBatch, excluded: new Set(others.map((o) => o.id)) }));
      expect(created.length).toBeGreaterThanOrEqual(count);
      for (const id of ids) await call('DELETE', `/v1/schedules/${id}`);
      return statements;
    };
    expect(await statementsFor(FIRING_BATCH)).toBe(await statementsFor(2));
  });

  it('a failure shared by a batch (a task the database refuses) leaves only its schedule alone; the others fire', async () => {
    await call('POST', APP_PATH, { name: 'refused', image: 'refused:1' });
    const ids: string[] = [];
    for (let i = 0; i < FIRING_BATCH; i++) ids.push(await create({ cron: '*/1 * * * * *', command: i === 4 ? 'echo refused-by-trigger' : 'true' }, 'refused'));
    const bad = ids[4]!;
    await sql`
      CREATE FUNCTION refuse_task() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'task refused for this test'; END $$
    `.execute(database.db);
    await sql`CREATE TRIGGER refuse_task BEFORE INSERT ON tasks FOR EACH ROW WHEN (NEW.command::text LIKE '%refused-by-trigger%') EXECUTE FUNCTION refuse_task()`.execute(database.db);
    try {
      const now = await databaseNow(database.db);
      for (const id of ids) await leaveUnhandledSince(database.db, id, new Date(Math.floor(now.getTime() / SECOND) * SECOND - 2 * SECOND));
      const errors: string[] = [];
      const settings = firingSettings({ onScheduleError: (id, error) => errors.push(`${id} ${error.message}`) });
      const { fired } = await fireDueSchedules(database.db, settings);
      expect(errors).toEqual([expect.stringMatching(new RegExp(`^${bad} .*task refused for this test`))]);
      expect([...settings.excluded]).toEqual([bad]);
      expect(await runsOf(database.db, bad)).toEqual([]);
      for (const id of ids.filter((other) => other !== bad)) {
        expect(fired).toContain(id);
        expect((await tasksOf(database.db, id)).length).toBeGreaterThanOrEqual(2);
      }
    } finally {
      await sql`DROP TRIGGER refuse_task ON tasks`.execute(database.db);
      await sql`DROP FUNCTION refuse_task`.execute(database.db);
      for (const id of ids) await call('DELETE', `/v1/schedules/${id}`);
    }
  });

  it('lets the process answer others between batches: the embedded database never waits on I/O, so a long pass would hold the event loop to its end', async () => {
    await call('POST', APP_PATH, { name: 'busy', image: 'busy:1' });
    const ids: string[] = [];
    for (let i = 0; i < 3 * FIRING_BATCH; i++) ids.push(await create({ cron: '*/1 * * * * *' }, 'busy'));
    const now = await databaseNow(database.db);
    for (const id of ids) await leaveUnhandledSince(database.db, id, new Date(Math.floor(now.getTime() / SECOND) * SECOND - 2 * SECOND));
    // Counts the turns of the event loop (each one polls I/O: requests, websockets) during the pass.
    let turns = 0;
    let probing = true;
    const probe = () => {
      if (!probing) return;
      turns++;
      setImmediate(probe);
    };
    setImmediate(probe);
    await fireDueSchedules(database.db, firingSettings());
    probing = false;
    expect(turns).toBeGreaterThanOrEqual(2);
    for (const id of ids) await call('DELETE', `/v1/schedules/${id}`);
  });

  describe('after the scheduler was stopped across slots (next_run_at left behind)', () => {
    // A yearly schedule left unhandled since 2019: every slot since is hours past any tolerance.
    const since = new Date('2019-01-01T00:00:00Z');

    it('missed=skip records each missed slot as skipped, saying why, and runs none', async () => {
      const id = await create({ cron: '0 0 1 1 *', missed: 'skip' });
      await leaveUnhandledSince(database.db, id, since);
      await fireDueSchedules(database.db, firingSettings());
      const runs = await runsOf(database.db, id);
      expect(runs.length).toBeGreaterThanOrEqual(7);
      expect(runs[0]!.scheduled_for.toISOString()).toBe('2019-01-01T00:00:00.000Z');
      for (const run of runs) {
        expect(run).toMatchObject({ outcome: 'skipped', missed: true });
        expect(run.reason).toBe('missed: not fired within 30 s of its time (no scheduler was running, or none could reach the database) (missed=skip)');
      }
      expect(await tasksOf(database.db, id)).toEqual([]);
      const shown = (await call('GET', `/v1/schedules/${id}`)).body;
      expect(shown.failing).toBe(true);
      expect(new Date(shown.nextRunAt).getUTCFullYear()).toBe(runs.at(-1)!.scheduled_for.getUTCFullYear() + 1);
    });

    it('missed=latest runs the most recent missed slot once and skips the others', async () => {
      const id = await create({ cron: '0 0 1 1 *', missed: 'latest' });
      await leaveUnhandledSince(database.db, id, since);
      await fireDueSchedules(database.db, firingSettings());
      const runs = await runsOf(database.db, id);
      const latest = runs.at(-1)!;
      expect(latest).toMatchObject({ outcome: 'running', attempts: 1, missed: false });
      for (const run of runs.slice(0, -1)) {
        expect(run).toMatchObject({ outcome: 'skipped', missed: true });
        expect(run.reason).toContain(`; the latest missed slot, ${latest.scheduled_for.toISOString().slice(0, 19)}+00:00, ran instead (missed=latest)`);
      }
      expect((await tasksOf(database.db, id)).map((t) => t.scheduled_for)).toEqual([latest.scheduled_for]);
      // Running again changes nothing: every slot up to now is handled.
      await fireDueSchedules(database.db, firingSettings());
      expect(await runsOf(database.db, id)).toHaveLength(runs.length);
    });

    it('missed=latest runs nothing when even the latest slot is past startingDeadlineSeconds', async () => {
      const id = await create({ cron: '0 0 1 1 *', missed: 'latest', startingDeadlineSeconds: 3600 });
      await leaveUnhandledSince(database.db, id, since);
      await fireDueSchedules(database.db, firingSettings());
      const runs = await runsOf(database.db, id);
      for (const run of runs) {
        expect(run).toMatchObject({ outcome: 'skipped', missed: true });
        expect(run.reason).toContain('; too late to run: more than startingDeadlineSeconds=3600 past its time (missed=latest)');
      }
      expect(await tasksOf(database.db, id)).toEqual([]);
    });

    it('records a bounded number of rows after a long outage, the first counting the ones left out', async () => {
      const id = await create({ cron: '*/1 * * * * *', missed: 'skip' });
      const now = await databaseNow(database.db);
      const from = new Date(Math.floor(now.getTime() / SECOND) * SECOND - 2 * 3600 * SECOND);
      await leaveUnhandledSince(database.db, id, from);
      await fireDueSchedules(database.db, firingSettings({ missedAfterSeconds: 1 }));
      // The catch-up is one transaction (its rows share created_at); slots passing while it ran
      // are handled by the next one.
      const all = await runsOf(database.db, id);
      const first = Math.min(...all.map((r) => r.created_at.getTime()));
      const runs = all.filter((r) => r.created_at.getTime() === first);
      const skipped = runs.filter((r) => r.outcome === 'skipped');
      const ran = runs.filter((r) => r.outcome === 'running');
      expect(skipped).toHaveLength(50);
      expect(skipped.every((r) => r.missed)).toBe(true);
      expect(skipped[0]!.scheduled_for).toEqual(from);
      const left = Number(/the (\d+) missed slots between it and/.exec(skipped[0]!.reason!)?.[1]);
      // Every slot from `from` to the last one handled is a row, fired, or counted in the summary.
      const slots = (runs.at(-1)!.scheduled_for.getTime() - from.getTime()) / SECOND + 1;
      expect(left + skipped.length + ran.length).toBe(slots);
      expect(left).toBeGreaterThan(7000);
      // The newest skipped rows are consecutive slots, up to the ones that fired.
      skipped.slice(1).forEach((run, i) => expect(run.scheduled_for.getTime()).toBe(skipped[1]!.scheduled_for.getTime() + i * SECOND));
    });
  });

  it('fires nothing while suspended; resumed, only slots after the resume run', async () => {
    const id = await create({ cron: '*/1 * * * * *' });
    await call('POST', `/v1/schedules/${id}/suspend`);
    await sleep(1500);
    await fireDueSchedules(database.db, firingSettings());
    expect(await runsOf(database.db, id)).toEqual([]);
    const resumedAt = await databaseNow(database.db);
    await call('POST', `/v1/schedules/${id}/resume`);
    await sleep(1200);
    await fireDueSchedules(database.db, firingSettings());
    const runs = await runsOf(database.db, id);
    expect(runs.length).toBeGreaterThan(0);
    expect(runs.every((r) => r.scheduled_for > resumedAt && r.outcome === 'running')).toBe(true);
  });
});

describe('firing from two connections at once (two replicas on one Postgres)', () => {
  let database: TestDatabase;
  let other: Awaited<ReturnType<typeof openDatabase>>;
  let call: Awaited<ReturnType<typeof createTestApp>>['call'];

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    other = await openDatabase({ url: database.url!, dataDir: '' });
    ({ call } = await createTestApp(database));
    await call('POST', APP_PATH, { name: 'race', image: 'race:1' });
  });
  afterAll(async () => {
    await other.close();
    await database.drop();
  });

  it('fires every slot exactly once: one row and one task per slot, none missing', async () => {
    const ids: string[] = [];
    // More than a worker takes in one batch: the workers of both replicas race for them.
    for (let i = 0; i < 2 * FIRING_BATCH + 5; i++) ids.push((await call('POST', `${APP_PATH}/race/schedules`, { cron: '*/1 * * * * *', command: 'true' })).body.id);
    const now = await databaseNow(database.db);
    const from = new Date(Math.floor(now.getTime() / SECOND) * SECOND - 20 * SECOND);
    for (const id of ids) await leaveUnhandledSince(database.db, id, from);
    // Both "replicas" race over the backlog, then over live slots for a while.
    const until = Date.now() + 2500;
    const replica = async (db: typeof other.db) => {
      while (Date.now() < until) {
        await fireDueSchedules(db, firingSettings({ missedAfterSeconds: 60, workers: 3 }));
        await sleep(5);
      }
    };
    await Promise.all([replica(database.db), replica(other.db)]);
    for (const id of ids) {
      const runs = await runsOf(database.db, id);
      expect(runs.length).toBeGreaterThanOrEqual(22);
      runs.forEach((run, i) => expect(run.scheduled_for.getTime()).toBe(from.getTime() + i * SECOND));
      const tasks = await tasksOf(database.db, id);
      expect(tasks.map((t) => t.scheduled_for!.getTime())).toEqual(runs.map((r) => r.scheduled_for.getTime()));
    }
  });
});
