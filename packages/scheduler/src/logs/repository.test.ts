import { linesOfRun, type LogRun } from '@tapit/protocol';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_PATH, createTestApp } from '../testing/test-app.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../testing/test-database.js';
import { applyExitReport } from '../agents/task-reports.js';
import { readLogLines } from '../testing/log-lines.js';
import { appendLogLines, parseChunk, readLogChunks, storeAgentChunk, storeAgentLog, type StoredChunk } from './repository.js';

describe.each(DATABASE_KINDS)('task log storage on %s', (kind) => {
  let database: TestDatabase;
  let harness: Awaited<ReturnType<typeof createTestApp>>;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    harness = await createTestApp(database);
    await harness.call('POST', APP_PATH, { name: 'web', image: 'web:1' });
  });
  afterAll(() => database.drop());

  /** A task placed on agent a1, its log holding only its creation's [system] line. */
  const newTask = async () => {
    const id = (await harness.call('POST', `${APP_PATH}/web/tasks`, { command: 'true' })).body.id as string;
    await database.db.updateTable('tasks').set({ agent_name: 'a1' }).where('id', '=', id).execute();
    return id;
  };
  const at = '2024-05-01T10:00:00.000Z';
  const run = (texts: string[], stream: LogRun['stream'] = 'stdout'): LogRun => ({ stream, at, lines: texts.length, text: texts.map((t) => `${t}\n`).join('') });
  const texts = (chunks: StoredChunk[]) => chunks.flatMap((c) => parseChunk(c).runs.flatMap((r) => linesOfRun(r)));
  const agentTexts = async (id: string) => (await readLogLines(database.db, id, 0, 10000)).filter((l) => l.stream !== 'system').map((l) => l.text);

  it('stores a chunk once, keeps only the new lines of one re-sent over it, and refuses one after a gap', async () => {
    const id = await newTask();
    expect(await storeAgentChunk(database.db, 'a1', id, 1, [run(['1', '2', '3'])])).toBe(3);
    expect(await storeAgentChunk(database.db, 'a1', id, 1, [run(['1', '2', '3'])])).toBe(3); // all stored already
    expect(await storeAgentChunk(database.db, 'a1', id, 2, [run(['2']), run(['3', '4'], 'stderr'), run(['5'])])).toBe(5);
    expect(await storeAgentChunk(database.db, 'a1', id, 8, [run(['8'])])).toBe(5); // 6 and 7 missing
    expect(await storeAgentChunk(database.db, 'intruder', id, 6, [run(['6'])])).toBeUndefined();
    expect(await storeAgentChunk(database.db, 'a1', id, 6, [run(['6', '7'])])).toBe(7);
    expect(await agentTexts(id)).toEqual(['1', '2', '3', '4', '5', '6', '7']);
    const lines = await readLogLines(database.db, id, 0, 100);
    expect(lines.map((l) => l.position)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(lines.filter((l) => l.text === '3' || l.text === '4').map((l) => l.stream)).toEqual(['stdout', 'stderr']);
    const task = await database.db.selectFrom('tasks').select(['log_count', 'last_agent_seq']).where('id', '=', id).executeTakeFirstOrThrow();
    expect(task).toEqual({ log_count: 8, last_agent_seq: 7 });
  });

  it('refuses as a gap, without a database error, lines whose seq is past what a 32-bit integer holds (task.log does not bound it)', async () => {
    const id = await newTask();
    expect(await storeAgentChunk(database.db, 'a1', id, 1, [run(['1'])])).toBe(1);
    expect(await storeAgentLog(database.db, 'a1', id, 8117350123389511, [{ stream: 'stdout', text: 'far', at: new Date(at) }])).toBe(1);
    expect(await storeAgentLog(database.db, 'a1', id, 2147483647, [{ stream: 'stdout', text: 'far', at: new Date(at) }])).toBe(1);
    expect(await storeAgentLog(database.db, 'a1', id, 2, [{ stream: 'stdout', text: '2', at: new Date(at) }])).toBe(2);
    expect(await agentTexts(id)).toEqual(['1', '2']);
  });

  it('drops, counts and acknowledges agent lines past the per-task limit, says so in a [system] line in their place, and the total at the stop', async () => {
    const id = await newTask();
    await database.db.updateTable('tasks').set({ status: 'RUNNING' }).where('id', '=', id).execute();
    const base = Number((await database.db.selectFrom('tasks').select('log_bytes').where('id', '=', id).executeTakeFirstOrThrow()).log_bytes);
    // Room for 22 more bytes: four lines of 5 (with their line breaks); `eeee` does not fit.
    const maxBytes = base + 22;
    expect(await storeAgentChunk(database.db, 'a1', id, 1, [run(['aaaa', 'bbbb']), run(['cccc', 'dddd', 'eeee'], 'stderr')], null, { maxBytes })).toBe(5);
    // `f` would fit in what is left, but output stops where it was first cut: dropped too.
    expect(await storeAgentLog(database.db, 'a1', id, 6, [{ stream: 'stdout', text: 'f', at: new Date(at) }], null, { maxBytes })).toBe(6);
    expect(await storeAgentChunk(database.db, 'a1', id, 5, [run(['eeee', 'f'])], null, { maxBytes })).toBe(6); // a re-send: nothing new
    expect(await storeAgentChunk(database.db, 'a1', id, 9, [run(['i'])], null, { maxBytes })).toBe(6); // a gap is still a gap
    expect(await storeAgentChunk(database.db, 'a1', id, 7, [run(['gg', 'hh'])], null, { maxBytes })).toBe(8);
    expect(await agentTexts(id)).toEqual(['aaaa', 'bbbb', 'cccc', 'dddd']);
    const row = await database.db.selectFrom('tasks').select(['last_agent_seq', 'log_dropped_bytes', 'log_dropped_lines']).where('id', '=', id).executeTakeFirstOrThrow();
    expect({ ...row, log_dropped_bytes: Number(row.log_dropped_bytes) }).toEqual({ last_agent_seq: 8, log_dropped_bytes: 5 + 2 + 6, log_dropped_lines: 4 });
    await applyExitReport(database.db, { name: 'a1', since: null }, { type: 'task.exited', taskId: id, stopCode: 'EXITED', exitCode: 0, reason: null, usage: { peakMemoryBytes: null, cpuSeconds: null, diskBytes: null }, startedAt: null, finishedAt: new Date().toISOString(), lastSeq: 8 });
    const lines = (await readLogLines(database.db, id, 0, 100)).map((l) => `${l.stream} ${l.text}`);
    const cut = lines.indexOf('stderr dddd');
    expect(lines[cut + 1]).toMatch(/^system Log limit reached: the task's log holds at most \d+ bytes \(TAPIT_LOG_MAX_BYTES_PER_TASK\); its further output is dropped, 5 bytes \(1 lines\) so far, and counted when it stops$/);
    expect(lines.filter((l) => l.startsWith('system Log limit'))).toHaveLength(2);
    expect(lines.at(-2)).toBe('system Task stopped: EXITED (exit code 0)');
    expect(lines.at(-1)).toBe("system Log limit: 13 bytes (4 lines) of the task's output were dropped, not stored (TAPIT_LOG_MAX_BYTES_PER_TASK)");
  });

  it('stores a task under its limit by the one-statement path, whole', async () => {
    const id = await newTask();
    expect(await storeAgentChunk(database.db, 'a1', id, 1, [run(['1', '2', '3'])], null, { maxBytes: 1024 ** 3 })).toBe(3);
    expect(await agentTexts(id)).toEqual(['1', '2', '3']);
    const row = await database.db.selectFrom('tasks').select('log_dropped_lines').where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.log_dropped_lines).toBe(0);
  });

  it('puts [system] lines written in a transaction between the chunks they came between', async () => {
    const id = await newTask();
    await storeAgentChunk(database.db, 'a1', id, 1, [run(['a', 'b'])]);
    await database.db.transaction().execute((trx) =>
      appendLogLines(trx, id, [
        { seq: null, stream: 'system', text: 'one\ntwo lines', at: new Date(at) },
        { seq: null, stream: 'system', text: 'three', at: new Date(at) },
      ]),
    );
    await storeAgentChunk(database.db, 'a1', id, 3, [run(['c'])]);
    const lines = await readLogLines(database.db, id, 1, 100);
    expect(lines.map((l) => [l.position, l.stream, l.text])).toEqual([
      [2, 'stdout', 'a'],
      [3, 'stdout', 'b'],
      [4, 'system', 'one\ntwo lines'],
      [5, 'system', 'three'],
      [6, 'stdout', 'c'],
    ]);
  });

  it('keeps long output compressed: fewer bytes stored than written, and counts the bytes per task', async () => {
    const id = await newTask();
    const numbers = Array.from({ length: 30000 }, (_, i) => String(i + 1));
    expect(await storeAgentChunk(database.db, 'a1', id, 1, [run(numbers)])).toBe(30000);
    const row = await database.db
      .selectFrom('task_log_chunks')
      .select(['encoding', 'text_bytes', sql<number>`octet_length(body)`.as('stored'), 'first_seq', 'streams'])
      .where('task_id', '=', id)
      .where('first_seq', '=', 1)
      .executeTakeFirstOrThrow();
    const written = numbers.join('\n').length + 1;
    expect(row).toMatchObject({ encoding: 1, text_bytes: written, first_seq: 1, streams: 1 });
    expect(row.stored).toBeLessThan(written / 2);
    const task = await database.db.selectFrom('tasks').select('log_bytes').where('id', '=', id).executeTakeFirstOrThrow();
    expect(task.log_bytes).toBeGreaterThan(written); // and its [system] line
    const { chunks } = await readLogChunks(database.db, id, 1 + 29990);
    expect(texts(chunks)).toEqual(numbers.slice(29990));
  });

  it('reads a log stored one row per line (before migration 0014), with the chunks stored after it', async () => {
    const id = await newTask();
    // The old layout, as that scheduler wrote it: a row per line, positions from the task's counter.
    await database.db.deleteFrom('task_log_chunks').where('task_id', '=', id).execute();
    const old = ['Task status is RUNNING, desired status is RUNNING', 'old 1', 'old 2', 'old 3'];
    await database.db
      .insertInto('task_log_lines')
      .values(old.map((text, i) => ({ task_id: id, position: i + 1, seq: i === 0 ? null : i, stream: i === 0 ? 'system' : 'stdout', text, logged_at: new Date(at) })))
      .execute();
    await database.db.updateTable('tasks').set({ log_count: 4, last_agent_seq: 3 }).where('id', '=', id).execute();
    expect(await storeAgentChunk(database.db, 'a1', id, 3, [run(['old 3', 'new 4', 'new 5'])])).toBe(5);
    expect((await readLogLines(database.db, id, 0, 100)).map((l) => [l.position, l.text])).toEqual([
      [1, old[0]],
      [2, 'old 1'],
      [3, 'old 2'],
      [4, 'old 3'],
      [5, 'new 4'],
      [6, 'new 5'],
    ]);
    expect(texts((await readLogChunks(database.db, id, 2)).chunks)).toEqual(['old 2', 'old 3', 'new 4', 'new 5']);
    expect(texts((await readLogChunks(database.db, id, 0, { maxLines: 3 })).chunks)).toEqual([old[0], 'old 1', 'old 2']);
    expect((await readLogLines(database.db, id, 0, 3, true)).map((l) => l.text)).toEqual(['old 3', 'new 4', 'new 5']);
  });
});
