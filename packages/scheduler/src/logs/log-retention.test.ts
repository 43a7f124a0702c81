import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_PATH, createTestApp } from '../testing/test-app.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../testing/test-database.js';
import { expireLogs, type RetentionBatch } from './log-retention.js';
import { readLogLines } from '../testing/log-lines.js';
import { appendLogLines } from './repository.js';

describe.each(DATABASE_KINDS)('log retention on %s', (kind) => {
  let database: TestDatabase;
  let harness: Awaited<ReturnType<typeof createTestApp>>;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    harness = await createTestApp(database);
    // "daily": the default retention; "monthly": 30 days of its own; "kept": kept unless said.
    await harness.call('POST', APP_PATH, { name: 'daily', image: 'web:1' });
    expect((await harness.call('POST', APP_PATH, { name: 'monthly', image: 'web:1', logRetentionDays: 30 })).body.logRetentionDays).toBe(30);
    await harness.call('POST', APP_PATH, { name: 'kept', image: 'web:1' });
  });
  afterAll(() => database.drop());

  const HOUR = 3600_000;
  const DAY = 24 * HOUR;

  /**
   * A task of `app` whose log is 3 chunks of 2 lines after its first [system] line, plus 4 lines
   * in the per-line layout of before 0014; finished `finishedAgo` ms ago (null: still running).
   */
  const task = async (app: string, finishedAgo: number | null, extra: { lateReportFor?: number } = {}) => {
    const id = (await harness.call('POST', `${APP_PATH}/${app}/tasks`, { command: 'true' })).body.id as string;
    for (let i = 0; i < 3; i++) {
      await appendLogLines(database.db, id, [0, 1].map((j) => ({ seq: null, stream: 'stdout' as const, text: `line ${i * 2 + j}`, at: new Date() })));
    }
    await database.db
      .insertInto('task_log_lines')
      .values([100, 101, 102, 103].map((position) => ({ task_id: id, position, seq: null, stream: 'stdout', text: `old ${position}`, logged_at: new Date() })))
      .execute();
    if (finishedAgo !== null) {
      await database.db
        .updateTable('tasks')
        .set({
          status: 'STOPPED',
          desired_status: 'STOPPED',
          stop_code: 'EXITED',
          exit_code: 0,
          finished_at: sql`now() - ${finishedAgo} * interval '1 millisecond'`,
          late_report_until: extra.lateReportFor ? sql`now() + ${extra.lateReportFor} * interval '1 millisecond'` : null,
        })
        .where('id', '=', id)
        .execute();
    } else {
      await database.db.updateTable('tasks').set({ status: 'RUNNING', created_at: new Date(Date.now() - 90 * DAY) }).where('id', '=', id).execute();
    }
    return id;
  };

  const rows = async (id: string) => ({
    chunks: Number((await database.db.selectFrom('task_log_chunks').select((eb) => eb.fn.countAll().as('n')).where('task_id', '=', id).executeTakeFirstOrThrow()).n),
    lines: Number((await database.db.selectFrom('task_log_lines').select((eb) => eb.fn.countAll().as('n')).where('task_id', '=', id).executeTakeFirstOrThrow()).n),
  });

  /** Steps until nothing is left to do; each step's rows deleted. */
  const runToEnd = async (batch: RetentionBatch) => {
    const steps: { expired: string[]; deleted: number }[] = [];
    for (;;) {
      const step = await expireLogs(database.db, batch);
      steps.push(step);
      if (!step.more) return steps;
      expect(steps.length).toBeLessThan(100);
    }
  };

  it('deletes, in small batches, exactly the logs of tasks finished before their cut-off; the tasks, their events and the audit stay', async () => {
    const old = await task('daily', 2 * DAY);
    const older = await task('monthly', 40 * DAY);
    const recent = await task('daily', HOUR);
    const running = await task('daily', null);
    const longer = await task('monthly', 2 * DAY); // its app keeps logs 30 days
    const lateReport = await task('daily', 2 * DAY, { lateReportFor: HOUR }); // its agent's last lines may still come
    const events = async (id: string) => (await database.db.selectFrom('task_events').select('id').where('task_id', '=', id).execute()).length;
    const eventsBefore = await events(old);
    const auditBefore = (await database.db.selectFrom('audit_events').select('id').execute()).length;
    const kept = [recent, running, longer, lateReport];
    const keptRows = await Promise.all(kept.map(rows));
    expect(keptRows.every((r) => r.chunks === 4 && r.lines === 4)).toBe(true); // the first [system] line's chunk and 3 more

    const steps = await runToEnd({ defaultDays: 1, tasks: 1, chunkRows: 2, lineRows: 3 });

    // Every step stayed within its batch: at most 2 chunk rows and 3 line rows, one task at a time.
    expect(steps.every((step) => step.deleted <= 5 && step.expired.length <= 1)).toBe(true);
    expect(steps.flatMap((step) => step.expired).sort()).toEqual([old, older].sort());
    expect(steps.reduce((n, step) => n + step.deleted, 0)).toBe(2 * (4 + 4));
    expect(steps.length).toBeGreaterThan(4);
    for (const id of [old, older]) {
      expect(await rows(id)).toEqual({ chunks: 0, lines: 0 });
      const row = await database.db.selectFrom('tasks').select(['status', 'exit_code', 'log_expired_at', 'log_purged_at']).where('id', '=', id).executeTakeFirstOrThrow();
      expect(row).toMatchObject({ status: 'STOPPED', exit_code: 0 });
      expect(row.log_expired_at).toBeInstanceOf(Date);
      expect(row.log_purged_at).toBeInstanceOf(Date);
    }
    expect(await Promise.all(kept.map(rows))).toEqual(keptRows);
    expect(await events(old)).toBe(eventsBefore);
    expect((await database.db.selectFrom('audit_events').select('id').execute()).length).toBe(auditBefore);
    // Nothing more to do: the next step finds nothing.
    expect(await expireLogs(database.db, { defaultDays: 1 })).toEqual({ expired: [], deleted: 0, more: false });
  });

  it('keeps logs forever without a default, except those of apps with a retention of their own', async () => {
    const keptForever = await task('kept', 400 * DAY);
    const monthly = await task('monthly', 31 * DAY);
    const steps = await runToEnd({ defaultDays: null });
    expect(steps.flatMap((step) => step.expired)).toEqual([monthly]);
    expect(await rows(monthly)).toEqual({ chunks: 0, lines: 0 });
    expect(await rows(keptForever)).toEqual({ chunks: 4, lines: 4 });
    // An app's own retention, changed later, applies from then on.
    expect((await harness.call('PATCH', `${APP_PATH}/kept`, { logRetentionDays: 365 })).body.logRetentionDays).toBe(365);
    expect((await runToEnd({ defaultDays: null })).flatMap((step) => step.expired)).toEqual([keptForever]);
    expect((await harness.call('PATCH', `${APP_PATH}/kept`, { logRetentionDays: null })).body.logRetentionDays).toBeNull();
  });

  it('carries on deleting a log a replica stopped halfway, shown as expired meanwhile', async () => {
    const id = await task('daily', 3 * DAY);
    // The mark and one batch, as a replica killed right after would leave it.
    const first = await expireLogs(database.db, { defaultDays: 1, chunkRows: 1 });
    expect(first).toMatchObject({ expired: [id], deleted: 1, more: true });
    expect(await rows(id)).toEqual({ chunks: 3, lines: 4 });
    // Readers see no leftover lines: every log endpoint says the log expired, and when.
    const expiredAt = (await database.db.selectFrom('tasks').select('log_expired_at').where('id', '=', id).executeTakeFirstOrThrow()).log_expired_at!.toISOString();
    expect((await harness.call('GET', `/v1/tasks/${id}/logs`)).body).toEqual({ lines: [], last: 0, complete: true, expiredAt });
    expect((await harness.call('GET', `/v1/tasks/${id}/logs/chunks?tail=10`)).body).toEqual({ chunks: [], last: 0, more: false, complete: true, expiredAt });
    for (const path of ['logs/follow', 'logs/chunks/follow']) {
      const events = (await harness.call('GET', `/v1/tasks/${id}/${path}`)).text.trim().split('\n').map((line) => JSON.parse(line));
      expect(events).toEqual([
        { type: 'status', status: 'STOPPED' },
        { type: 'end', status: 'STOPPED', exitCode: 0, logExpiredAt: expiredAt },
      ]);
    }
    // Another replica (a fresh step) finishes the deletion.
    expect((await runToEnd({ defaultDays: 1 })).flatMap((step) => step.expired)).toEqual([]);
    expect(await rows(id)).toEqual({ chunks: 0, lines: 0 });
    expect(await readLogLines(database.db, id, 0, 10)).toEqual([]);
  });
});
