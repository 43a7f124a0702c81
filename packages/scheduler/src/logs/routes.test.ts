import { linesOfChunk, linesOfRun, type LogChunk, type LogFollowEvent } from '@tapit/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomSecretBox } from '../testing/random-secret-box.js';
import { createApp } from '../app.js';
import { TokenWatch } from '../auth/token-watch.js';
import { TaskSignals } from '../tasks/task-signals.js';
import { createTestApp, APP_PATH, ADMIN_TOKEN } from '../testing/test-app.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../testing/test-database.js';
import { RecentChunks } from './recent-chunks.js';
import { appendLogLines, storeAgentChunk, storeAgentLog } from './repository.js';

describe.each(DATABASE_KINDS)('task logs on %s', (kind) => {
  let database: TestDatabase;
  let harness: Awaited<ReturnType<typeof createTestApp>>;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    harness = await createTestApp(database);
    await harness.call('POST', APP_PATH, { name: 'web', image: 'web:1' });
  });
  afterAll(() => database.drop());

  /** A task whose lines agent a1 may send (only the agent it is placed on may). */
  const newTask = async () => {
    const id = (await harness.call('POST', `${APP_PATH}/web/tasks`, { command: 'true' })).body.id as string;
    await database.db.updateTable('tasks').set({ agent_name: 'a1' }).where('id', '=', id).execute();
    return id;
  };
  const line = (text: string) => ({ stream: 'stdout' as const, text, at: new Date() });

  it('stores agent lines once, in order, and refuses a gap', async () => {
    const id = await newTask();
    expect(await storeAgentLog(database.db, 'a1', id, 1, [line('one'), line('two')])).toBe(2);
    expect(await storeAgentLog(database.db, 'a1', id, 1, [line('one'), line('two'), line('three')])).toBe(3); // re-sent after a reconnect
    expect(await storeAgentLog(database.db, 'a1', id, 6, [line('six')])).toBe(3); // a gap: refused
    expect(await storeAgentLog(database.db, 'a1', id, 4, [line('four')])).toBe(4);
    const page = await harness.call('GET', `/v1/tasks/${id}/logs`);
    expect(page.body.lines.filter((l: { stream: string }) => l.stream === 'stdout').map((l: { text: string }) => l.text)).toEqual(['one', 'two', 'three', 'four']);
  });

  it('takes lines only from the agent the task is placed on, and keeps NUL bytes as U+FFFD', async () => {
    const id = await newTask();
    expect(await storeAgentLog(database.db, 'intruder', id, 1, [line('forged')])).toBeUndefined();
    expect(await storeAgentLog(database.db, 'a1', id, 1, [line('a\u0000b')])).toBe(1);
    const page = await harness.call('GET', `/v1/tasks/${id}/logs`);
    expect(page.body.lines.filter((l: { stream: string }) => l.stream === 'stdout').map((l: { text: string }) => l.text)).toEqual(['a\uFFFDb']);
  });

  it('pages by position', async () => {
    const id = await newTask();
    await storeAgentLog(database.db, 'a1', id, 1, Array.from({ length: 10 }, (_, i) => line(`l${i}`)));
    const first = await harness.call('GET', `/v1/tasks/${id}/logs?limit=4`);
    const second = await harness.call('GET', `/v1/tasks/${id}/logs?after=${first.body.last}&limit=100`);
    expect(first.body.lines).toHaveLength(4);
    expect(first.body.complete).toBe(false);
    expect([...first.body.lines, ...second.body.lines].map((l: { position: number }) => l.position)).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
    const tail = await harness.call('GET', `/v1/tasks/${id}/logs?tail=3`);
    expect(tail.body.lines.map((l: { text: string }) => l.text)).toEqual(['l7', 'l8', 'l9']);
  });

  it('bounds a page of lines in bytes as well as in lines: pages of long lines add up to the log', async () => {
    const id = await newTask();
    // 200 lines of 64 KiB: 12.5 MiB, far past a page's bytes though within its 10,000 lines; sent
    // as an agent sends them, 8 lines (512 KiB) a frame.
    const long = Array.from({ length: 200 }, (_, i) => line(`${String(i).padStart(3, '0')}${'x'.repeat(64 * 1024 - 4)}`));
    for (let i = 0; i < long.length; i += 8) await storeAgentLog(database.db, 'a1', id, i + 1, long.slice(i, i + 8));
    await harness.call('POST', `/v1/tasks/${id}/stop`);
    const seen: string[] = [];
    let after = 0;
    for (let pages = 1; ; pages++) {
      const page = (await harness.call('GET', `/v1/tasks/${id}/logs?limit=10000&after=${after}`)).body;
      expect(JSON.stringify(page).length).toBeLessThan(6 * 1024 * 1024);
      seen.push(...page.lines.filter((l: { stream: string }) => l.stream === 'stdout').map((l: { text: string }) => l.text.slice(0, 3)));
      after = page.last;
      if (page.complete) {
        expect(pages).toBeGreaterThan(2);
        break;
      }
    }
    expect(seen).toEqual(Array.from({ length: 200 }, (_, i) => String(i).padStart(3, '0')));
  });

  it('follows a long backlog in order, every line once', async () => {
    const id = await newTask();
    for (let chunk = 0; chunk < 3; chunk++) {
      await storeAgentLog(database.db, 'a1', id, chunk * 4000 + 1, Array.from({ length: 4000 }, (_, i) => line(`n${chunk * 4000 + i + 1}`)));
    }
    await harness.call('POST', `/v1/tasks/${id}/stop`);
    const response = await harness.app.request(`/v1/tasks/${id}/logs/follow`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const events = (await response.text()).trim().split('\n').map((l) => JSON.parse(l) as LogFollowEvent);
    const numbered = events.flatMap((e) => (e.type === 'line' && e.line.stream === 'stdout' ? [e.line.text] : []));
    expect(numbered).toEqual(Array.from({ length: 12000 }, (_, i) => `n${i + 1}`));
    expect(events.at(-1)).toMatchObject({ type: 'end', status: 'STOPPED' });
  });

  const chunkTexts = (chunks: LogChunk[]) => chunks.flatMap((c) => c.runs.flatMap((r) => linesOfRun(r)));
  const followEvents = async (path: string) => {
    const response = await harness.app.request(path, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    return (await response.text()).trim().split('\n').map((l) => JSON.parse(l) as LogFollowEvent);
  };

  it('pages chunks by size (about 4 MiB of text a page, saying whether there is more) and gives a tail', async () => {
    const id = await newTask();
    const long = 'x'.repeat(1023);
    for (let chunk = 0; chunk < 5; chunk++) {
      const lines = Array.from({ length: 1024 }, (_, i) => `${chunk * 1024 + i + 1} ${long}`);
      await storeAgentChunk(database.db, 'a1', id, chunk * 1024 + 1, [{ stream: 'stdout', at: new Date().toISOString(), lines: 1024, text: lines.map((l) => `${l}\n`).join('') }]);
    }
    await harness.call('POST', `/v1/tasks/${id}/stop`);
    const first = (await harness.call('GET', `/v1/tasks/${id}/logs/chunks`)).body;
    expect(first).toMatchObject({ more: true, complete: false });
    const second = (await harness.call('GET', `/v1/tasks/${id}/logs/chunks?after=${first.last}`)).body;
    expect(second).toMatchObject({ more: false, complete: true });
    const numbered = chunkTexts([...first.chunks, ...second.chunks]).filter((t) => t.endsWith(long)).map((t) => Number(t.split(' ')[0]));
    expect(numbered).toEqual(Array.from({ length: 5120 }, (_, i) => i + 1));
    const tail = (await harness.call('GET', `/v1/tasks/${id}/logs/chunks?tail=3`)).body;
    expect(chunkTexts(tail.chunks)).toEqual(['5120 ' + long, 'Task status is STOPPED, desired status is STOPPED', 'Task stopped: USER_STOPPED by bootstrap']);
    expect(tail.chunks[0].first).toBe(tail.last - 2);
    const cut = (await harness.call('GET', `/v1/tasks/${id}/logs/chunks?after=1025`)).body;
    expect(cut.chunks[0].first).toBe(1026);
    expect(chunkTexts(cut.chunks)[0]).toBe('1025 ' + long);
    expect((await harness.call('GET', `/v1/tasks/${id}/logs/chunks?tail=0`)).body.error.field).toBe('tail');

    // A tail longer than a page is paged too (a viewer's `--tail 1000000` of long lines must not
    // build one answer of the whole log): the first page starts where the tail does, and the
    // pages after it, asked for without the tail, go on to the end.
    for (const filter of ['', '&stream=stdout']) {
      const pages = [(await harness.call('GET', `/v1/tasks/${id}/logs/chunks?tail=5000${filter}`)).body];
      expect(pages[0]).toMatchObject({ more: true });
      expect(JSON.stringify(pages[0]).length).toBeLessThan(5 * 1024 * 1024);
      while (pages.at(-1).more) pages.push((await harness.call('GET', `/v1/tasks/${id}/logs/chunks?after=${pages.at(-1).last}${filter}`)).body);
      const tailed = chunkTexts(pages.flatMap((page) => page.chunks)).filter((t) => t.endsWith(long)).map((t) => Number(t.split(' ')[0]));
      const wanted = filter === '' ? 4998 : 5000; // without a filter, the two [system] lines at the end are of the 5000
      expect(tailed).toEqual(Array.from({ length: wanted }, (_, i) => 5120 - wanted + i + 1));
    }
  });

  it('follows a log as chunks, every line once, then ends with its state', async () => {
    const id = await newTask();
    await storeAgentChunk(database.db, 'a1', id, 1, [{ stream: 'stdout', at: new Date().toISOString(), lines: 3, text: 'a\nb\nc\n' }]);
    await harness.call('POST', `/v1/tasks/${id}/stop`);
    const events = await followEvents(`/v1/tasks/${id}/logs/chunks/follow?after=2`);
    expect(chunkTexts(events.flatMap((e) => (e.type === 'chunk' ? [e.chunk] : [])))).toEqual(['b', 'c', 'Task status is STOPPED, desired status is STOPPED', 'Task stopped: USER_STOPPED by bootstrap']);
    expect(events.find((e) => e.type === 'chunk')).toMatchObject({ chunk: { first: 3 } });
    expect(events.at(-1)).toEqual({ type: 'end', status: 'STOPPED', exitCode: null });
  });

  it('filters chunk pages, tails and follows by stream and time, each line at its position', async () => {
    const id = await newTask();
    const run = (stream: 'stdout' | 'stderr', at: string, texts: string[]) => ({ stream, at, lines: texts.length, text: texts.map((t) => `${t}\n`).join('') });
    await storeAgentChunk(database.db, 'a1', id, 1, [
      run('stdout', '2020-01-01T17:00:00.000Z', ['out1', 'out2']),
      run('stderr', '2020-01-01T17:00:01.000Z', ['err1']),
      run('stdout', '2020-01-01T17:00:02.000Z', ['out3']),
    ]);
    await storeAgentChunk(database.db, 'a1', id, 5, [run('stderr', '2020-01-01T17:00:03.000Z', ['err2', 'err3']), run('stdout', '2020-01-01T17:00:04.000Z', ['out4'])]);
    await harness.call('POST', `/v1/tasks/${id}/stop`);
    const positioned = (chunks: LogChunk[]) => chunks.flatMap(linesOfChunk).map((l) => `${l.position}:${l.text}`);
    const page = async (query: string) => (await harness.call('GET', `/v1/tasks/${id}/logs/chunks?${query}`)).body;
    // Position 1 is the creation's [system] line: the agent's lines start at 2.
    expect(positioned((await page('stream=stderr')).chunks)).toEqual(['4:err1', '6:err2', '7:err3']);
    expect(await page('stream=stderr')).toMatchObject({ more: false, complete: true });
    expect(positioned((await page('since=2020-01-01T17:00:02Z&stream=stdout')).chunks)).toEqual(['5:out3', '8:out4']);
    // Lines are kept by their own time, wherever they are: the [system] lines are stamped now.
    expect(positioned((await page('since=2020-01-01T18:00:03%2B01:00')).chunks)).toEqual([
      '1:Task status is PROVISIONING, desired status is RUNNING',
      '6:err2',
      '7:err3',
      '8:out4',
      '9:Task status is STOPPED, desired status is STOPPED',
      '10:Task stopped: USER_STOPPED by bootstrap',
    ]);
    expect(positioned((await page('tail=2&stream=stdout')).chunks)).toEqual(['5:out3', '8:out4']);
    expect(positioned((await page('tail=2&stream=stderr')).chunks)).toEqual(['6:err2', '7:err3']);
    expect(positioned((await page('tail=1&stream=system')).chunks)).toEqual(['10:Task stopped: USER_STOPPED by bootstrap']);
    const followed = await followEvents(`/v1/tasks/${id}/logs/chunks/follow?stream=stdout&after=2`);
    expect(positioned(followed.flatMap((e) => (e.type === 'chunk' ? [e.chunk] : [])))).toEqual(['3:out2', '5:out3', '8:out4']);
    expect(followed.at(-1)).toMatchObject({ type: 'end' });
    // The line API takes the same filters: pages, tails and follows of lines.
    const texts = async (query: string) => (await harness.call('GET', `/v1/tasks/${id}/logs?${query}`)).body.lines.map((l: { position: number; text: string }) => `${l.position}:${l.text}`);
    expect(await texts('stream=stderr')).toEqual(['4:err1', '6:err2', '7:err3']);
    expect(await texts('since=2020-01-01T17:00:02Z&stream=stdout')).toEqual(['5:out3', '8:out4']);
    expect(await texts('tail=2&stream=stdout')).toEqual(['5:out3', '8:out4']);
    expect(await texts('stream=stdout&limit=2')).toEqual(['2:out1', '3:out2']);
    expect(await texts('stream=stdout&after=3')).toEqual(['5:out3', '8:out4']);
    const lineFollow = await followEvents(`/v1/tasks/${id}/logs/follow?stream=stderr&after=4`);
    expect(lineFollow.flatMap((e) => (e.type === 'line' ? [`${e.line.position}:${e.line.text}`] : []))).toEqual(['6:err2', '7:err3']);
    expect(lineFollow.at(-1)).toMatchObject({ type: 'end' });
    expect((await harness.call('GET', `/v1/tasks/${id}/logs/follow?stream=app`)).body.error.field).toBe('stream');
    const refused = await harness.call('GET', `/v1/tasks/${id}/logs/chunks?stream=app`);
    expect([refused.status, refused.body.error.field]).toEqual([400, 'stream']);
    const badTime = await harness.call('GET', `/v1/tasks/${id}/logs/chunks/follow?since=10m`);
    expect([badTime.status, badTime.body.error.field]).toEqual([400, 'since']);
  });

  it('serves a log stored one row per line (before migration 0014) on every log endpoint', async () => {
    const id = await newTask();
    await database.db.deleteFrom('task_log_chunks').where('task_id', '=', id).execute();
    const at = new Date('2024-05-01T10:00:00.000Z');
    const rows = [
      { stream: 'system', text: 'Task status is PROVISIONING, desired status is RUNNING' },
      { stream: 'stdout', text: 'migrating' },
      { stream: 'stderr', text: 'warning: two\nlines' },
      { stream: 'system', text: 'Task status is STOPPED, desired status is STOPPED' },
    ];
    await database.db.insertInto('task_log_lines').values(rows.map((r, i) => ({ task_id: id, position: i + 1, seq: r.stream === 'system' ? null : i, ...r, logged_at: at }))).execute();
    await database.db.updateTable('tasks').set({ log_count: 4, last_agent_seq: 2, status: 'STOPPED', desired_status: 'STOPPED' }).where('id', '=', id).execute();
    const page = (await harness.call('GET', `/v1/tasks/${id}/logs`)).body;
    expect(page).toEqual({ lines: rows.map((r, i) => ({ position: i + 1, ...r, at: at.toISOString() })), last: 4, complete: true });
    expect((await harness.call('GET', `/v1/tasks/${id}/logs?tail=2`)).body.lines.map((l: { position: number }) => l.position)).toEqual([3, 4]);
    const chunks = (await harness.call('GET', `/v1/tasks/${id}/logs/chunks`)).body;
    expect(chunks).toMatchObject({ last: 4, more: false, complete: true });
    expect(chunkTexts(chunks.chunks)).toEqual(rows.map((r) => r.text));
    const lineEvents = await followEvents(`/v1/tasks/${id}/logs/follow`);
    expect(lineEvents.flatMap((e) => (e.type === 'line' ? [e.line.text] : []))).toEqual(rows.map((r) => r.text));
    const chunkEvents = await followEvents(`/v1/tasks/${id}/logs/chunks/follow?after=1`);
    expect(chunkTexts(chunkEvents.flatMap((e) => (e.type === 'chunk' ? [e.chunk] : [])))).toEqual(rows.slice(1).map((r) => r.text));
    expect(chunkEvents.at(-1)).toMatchObject({ type: 'end' });
  });

  it('ends a follow when its token is revoked, and refuses the token afterwards', async () => {
    const id = await newTask();
    const { token } = (await harness.call('POST', '/v1/tokens', { name: `follower-${kind}`, role: 'viewer' })).body;
    const response = await harness.app.request(`/v1/tasks/${id}/logs/follow`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    const body = response.text();
    expect((await harness.call('DELETE', `/v1/tokens/follower-${kind}`)).status).toBe(204);
    // The task still runs: only the revocation can have ended the stream, and without an `end`
    // (what it read before the revocation may or may not have been sent).
    const events = (await body).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as LogFollowEvent);
    expect(events.some((e) => e.type === 'end')).toBe(false);
    expect((await harness.call('GET', `/v1/tasks/${id}`)).body.status).toBe('PROVISIONING');
    expect((await harness.app.request(`/v1/tasks/${id}/logs/follow`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
  });

  it('keeps a quiet follow alive with blank lines', async () => {
    const quiet = await createTestApp(database, { followKeepAliveMs: 100 });
    const id = await newTask();
    const response = await quiet.app.request(`/v1/tasks/${id}/logs/follow`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const reader = response.body!.getReader();
    let text = '';
    const deadline = Date.now() + 10_000;
    while (!/\n\n\n$/.test(text) && Date.now() < deadline) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    // The backlog and status, then only keep-alives: a quiet task.
    const lines = text.split('\n');
    expect(lines.filter((l) => l !== '').map((l) => (JSON.parse(l) as LogFollowEvent).type)).toEqual(['line', 'status']);
    expect(text).toMatch(/\n\n\n$/);
  });

  it('follows a log until the task stops, then ends with its state', async () => {
    const id = await newTask();
    const response = await harness.app.request(`/v1/tasks/${id}/logs/follow`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(response.headers.get('content-type')).toContain('application/x-ndjson');
    const reader = response.body!.getReader();
    const events: LogFollowEvent[] = [];
    const decoder = new TextDecoder();
    let buffer = '';
    const pump = (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let nl;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buffer.slice(0, nl)));
          buffer = buffer.slice(nl + 1);
        }
      }
    })();
    await new Promise((r) => setTimeout(r, 200));
    await storeAgentLog(database.db, 'a1', id, 1, [line('hello')]);
    harness.signals.taskChanged(id);
    await new Promise((r) => setTimeout(r, 200));
    await harness.call('POST', `/v1/tasks/${id}/stop`);
    await pump;
    const texts = events.filter((e) => e.type === 'line').map((e) => (e as { line: { text: string } }).line.text);
    expect(texts).toEqual([
      'Task status is PROVISIONING, desired status is RUNNING',
      'hello',
      'Task status is STOPPED, desired status is STOPPED',
      'Task stopped: USER_STOPPED by bootstrap',
    ]);
    expect(events.at(-1)).toEqual({ type: 'end', status: 'STOPPED', exitCode: null });
  });
});

// On Postgres only: the test stores lines while one of the follow's reads holds its answer, which
// needs a second connection (PGlite has one).
describe('a chunk follow on postgres', () => {
  let database: TestDatabase;
  let harness: Awaited<ReturnType<typeof createTestApp>>;
  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    harness = await createTestApp(database);
    await harness.call('POST', APP_PATH, { name: 'web', image: 'web:1' });
  });
  afterAll(() => database.drop());
  const chunkTexts = (chunks: LogChunk[]) => chunks.flatMap((c) => c.runs.flatMap((r) => linesOfRun(r)));

  it('ends a chunk follow only after every line stored before the end, when the last chunk it sends is one kept in memory', async () => {
    const id = (await harness.call('POST', `${APP_PATH}/web/tasks`, { command: 'true' })).body.id as string;
    await database.db.updateTable('tasks').set({ agent_name: 'a1' }).where('id', '=', id).execute();
    await storeAgentChunk(database.db, 'a1', id, 1, [{ stream: 'stdout', at: new Date().toISOString(), lines: 1, text: 'first\n' }]);
    const recent = new RecentChunks();
    // Runs `between` once, as the follow's next read of the task's state answers: the agent's
    // last chunk (kept in memory, as the gateway keeps it) and the exit's [system] line are
    // stored after that read, so the read after it finds the task STOPPED with a [system] line
    // after the chunk kept in memory, which only the database has.
    let between: (() => Promise<void>) | undefined;
    const stateReads = new Set<string>();
    const db = database.db.withPlugin({
      transformQuery: (args) => {
        if (args.node.kind === 'SelectQueryNode' && JSON.stringify(args.node.from).includes('"tasks"')) stateReads.add(args.queryId.queryId);
        return args.node;
      },
      transformResult: async (args) => {
        const run = stateReads.has(args.queryId.queryId) ? between : undefined;
        if (run) {
          between = undefined;
          await run();
        }
        return args.result;
      },
    });
    const signals = new TaskSignals();
    const app = createApp({ db, dbKind: database.kind, signals, tokenWatch: new TokenWatch(db), version: 'test', checkDatabase: async () => null, secrets: randomSecretBox(), followPollMs: 2_000, recentChunks: recent });
    const response = await app.request(`/v1/tasks/${id}/logs/chunks/follow`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes('"type":"status"')) text += decoder.decode((await reader.read()).value, { stream: true });
    await new Promise((resolve) => setTimeout(resolve, 300)); // the follow waits for a change
    between = async () => {
      const onStored = (chunk: Parameters<RecentChunks['remember']>[1]) => recent.remember(id, chunk);
      await storeAgentChunk(database.db, 'a1', id, 2, [{ stream: 'stdout', at: new Date().toISOString(), lines: 1, text: 'last\n' }], null, { onStored });
      await database.db.transaction().execute(async (trx) => {
        await appendLogLines(trx, id, [{ seq: null, stream: 'system', text: 'Task stopped: EXITED (exit code 0)', at: new Date() }]);
        await trx.updateTable('tasks').set({ status: 'STOPPED', desired_status: 'STOPPED', exit_code: 0 }).where('id', '=', id).execute();
      });
      signals.taskChanged(id);
    };
    signals.taskChanged(id);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    const events = text.trim().split('\n').map((l) => JSON.parse(l) as LogFollowEvent);
    expect(between).toBeUndefined();
    expect(chunkTexts(events.flatMap((e) => (e.type === 'chunk' ? [e.chunk] : []))).slice(1)).toEqual(['first', 'last', 'Task stopped: EXITED (exit code 0)']);
    expect(events.at(-1)).toEqual({ type: 'end', status: 'STOPPED', exitCode: 0 });
  });
});
