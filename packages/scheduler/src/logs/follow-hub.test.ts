import { linesOfChunk, type LogFollowEvent } from '@tapit/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomSecretBox } from '../testing/random-secret-box.js';
import { createApp } from '../app.js';
import { TokenWatch } from '../auth/token-watch.js';
import { TaskSignals } from '../tasks/task-signals.js';
import { eventually } from '../testing/eventually.js';
import { ADMIN_TOKEN, APP_PATH, createTestApp } from '../testing/test-app.js';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';
import { FollowHub, type FollowFormat } from './follow-hub.js';
import { chunkJson, storeAgentChunk } from './repository.js';

/** A follow opened with app.request(), its events parsed as they come; `paused` reads nothing until resumed. */
function openFollow(app: ReturnType<typeof createApp>, path: string, options: { paused?: boolean } = {}) {
  const events: LogFollowEvent[] = [];
  let resume: () => void = () => {};
  const resumed = options.paused ? new Promise<void>((resolve) => (resume = resolve)) : Promise.resolve();
  const done = (async () => {
    const response = await app.request(path, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    if (response.status !== 200) throw new Error(`follow answered ${response.status}: ${await response.text()}`);
    await resumed;
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { done: ended, value } = await reader.read();
      if (ended) break;
      buffer += decoder.decode(value, { stream: true });
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line !== '') events.push(JSON.parse(line) as LogFollowEvent);
      }
    }
  })();
  return { events, done, resume };
}

type Follow = ReturnType<typeof openFollow>;

/** The task's own (stdout) lines a follow received, from line or chunk events, in order. */
const received = (follow: Follow) =>
  follow.events
    .flatMap((e) => (e.type === 'line' ? [e.line] : e.type === 'chunk' ? linesOfChunk(e.chunk) : []))
    .filter((line) => line.stream === 'stdout')
    .map((line) => line.text);

const hasStatus = (follow: Follow) => follow.events.some((e) => e.type === 'status');

/**
 * A Postgres test database with app `web` for a describe block: `runningTask()` makes a task
 * agent a1 runs, `store` adds its lines as a1 would, `stop` ends it.
 */
function runningTasksFixture() {
  const fixture = {
    database: undefined as unknown as TestDatabase,
    harness: undefined as unknown as Awaited<ReturnType<typeof createTestApp>>,
    runningTask: async () => {
      const id = (await fixture.harness.call('POST', `${APP_PATH}/web/tasks`, { command: 'true' })).body.id as string;
      await fixture.database.db.updateTable('tasks').set({ agent_name: 'a1', status: 'RUNNING' }).where('id', '=', id).execute();
      return id;
    },
    store: (id: string, seq: number, texts: string[]) =>
      storeAgentChunk(fixture.database.db, 'a1', id, seq, [{ stream: 'stdout', at: new Date().toISOString(), lines: texts.length, text: texts.map((t) => `${t}\n`).join('') }]),
    stop: (id: string) => fixture.database.db.updateTable('tasks').set({ status: 'STOPPED', desired_status: 'STOPPED', exit_code: 0 }).where('id', '=', id).execute(),
  };
  beforeAll(async () => {
    fixture.database = await createTestDatabase('postgres');
    fixture.harness = await createTestApp(fixture.database);
    await fixture.harness.call('POST', APP_PATH, { name: 'web', image: 'web:1' });
  });
  afterAll(() => fixture.database.drop());
  return fixture;
}

describe('followers of one task on postgres', () => {
  const tasks = runningTasksFixture();
  const { runningTask, store, stop } = tasks;

  /** An app whose every database statement is counted, woken only by its signals (no polling within a test). */
  const countingApp = (options: { followPollMs?: number; followBufferBytes?: number } = {}) => {
    const counter = { statements: 0 };
    const db = tasks.database.db.withPlugin({
      transformQuery: (args) => {
        counter.statements++;
        return args.node;
      },
      transformResult: async (args) => args.result,
    });
    const signals = new TaskSignals();
    const app = createApp({ db, dbKind: tasks.database.kind, signals, tokenWatch: new TokenWatch(db), version: 'test', checkDatabase: async () => null, secrets: randomSecretBox(), followPollMs: 60_000, ...options });
    /**
     * Wakes the followers of a task until `done`: a follower reading when the wake came may have
     * missed it (and sleeps a poll interval), so it is sent again after 2 s without success.
     */
    const wakeUntil = async (id: string, done: () => boolean, what: string) => {
      for (let attempt = 0; attempt < 10 && !done(); attempt++) {
        signals.taskChanged(id);
        await eventually(done, what, 2000).catch(() => undefined);
      }
      expect(done(), what).toBe(true);
    };
    return { app, signals, counter, wakeUntil };
  };

  it('serves N followers of a running task with no more database statements per change than one or two, every line once and in order, then the end', async () => {
    /** Statements the app runs for three changes of a task followed `n` times (half by lines, half by chunks). */
    const statementsFor = async (n: number) => {
      const { app, signals, counter, wakeUntil } = countingApp();
      const id = await runningTask();
      const follows = Array.from({ length: n }, (_, i) => openFollow(app, `/v1/tasks/${id}/${i % 2 === 0 ? 'logs/follow' : 'logs/chunks/follow'}`));
      await eventually(() => follows.every(hasStatus), `${n} follows caught up`);
      // Give every follower the time to settle at the live edge.
      await new Promise((resolve) => setTimeout(resolve, 100));
      counter.statements = 0;
      for (let round = 1; round <= 3; round++) {
        await store(id, round, [`line ${round}`]);
        await wakeUntil(id, () => follows.every((f) => received(f).length === round), `round ${round} reached ${n} follows`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      const statements = counter.statements;
      // The stop (its own statements not counted) ends every follow, after every line.
      await stop(id);
      await wakeUntil(id, () => follows.every((f) => f.events.at(-1)?.type === 'end'), `${n} follows ended`);
      await Promise.all(follows.map((f) => f.done));
      for (const follow of follows) {
        expect(received(follow)).toEqual(['line 1', 'line 2', 'line 3']);
        expect(follow.events.at(-1)).toEqual({ type: 'end', status: 'STOPPED', exitCode: 0 });
        expect(follow.events.filter((e) => e.type === 'end')).toHaveLength(1);
        expect(follow.events.filter((e) => e.type === 'status').map((e) => (e as { status: string }).status)).toEqual(['RUNNING', 'STOPPED']);
      }
      return statements;
    };
    const two = await statementsFor(2);
    const fifty = await statementsFor(50);
    expect(two).toBeGreaterThan(0);
    expect(fifty).toBeLessThanOrEqual(two);
  });

  it('does not hold the others up for a follower that reads nothing; it catches up later, every line once and in order', async () => {
    const { app, signals } = countingApp({ followPollMs: 50, followBufferBytes: 64 * 1024 });
    const id = await runningTask();
    const slow = openFollow(app, `/v1/tasks/${id}/logs/chunks/follow`, { paused: true });
    const fast = [openFollow(app, `/v1/tasks/${id}/logs/chunks/follow`), openFollow(app, `/v1/tasks/${id}/logs/follow`), openFollow(app, `/v1/tasks/${id}/logs/chunks/follow?stream=stdout`)];
    await eventually(() => fast.every(hasStatus), 'fast follows caught up');
    await new Promise((resolve) => setTimeout(resolve, 100));
    // 40 changes of 25 KiB each: about 1 MiB, far more than the slow follower may hold.
    const wanted: string[] = [];
    for (let round = 0; round < 40; round++) {
      const texts = Array.from({ length: 100 }, (_, i) => `${round * 100 + i + 1} ${'x'.repeat(250)}`);
      await store(id, round * 100 + 1, texts);
      wanted.push(...texts);
      signals.taskChanged(id);
      await eventually(() => fast.every((f) => received(f).length === wanted.length), `round ${round} reached the fast follows`);
    }
    await stop(id);
    signals.taskChanged(id);
    await Promise.all(fast.map((f) => f.done));
    for (const follow of fast) {
      expect(received(follow)).toEqual(wanted);
      expect(follow.events.at(-1)).toEqual({ type: 'end', status: 'STOPPED', exitCode: 0 });
    }
    slow.resume();
    await slow.done;
    expect(received(slow)).toEqual(wanted);
    expect(slow.events.at(-1)).toEqual({ type: 'end', status: 'STOPPED', exitCode: 0 });
    expect(slow.events.filter((e) => e.type === 'end')).toHaveLength(1);
  });
});

describe('FollowHub', () => {
  const tasks = runningTasksFixture();
  const { runningTask, store, stop } = tasks;

  /** Chunk events, as `…/logs/chunks/follow` sends them, its own reads 8 KiB at a time. */
  const CHUNKS: FollowFormat = { key: 'chunks', page: { maxBytes: 8 * 1024 }, text: (chunks) => chunks.map((c) => `{"type":"chunk","chunk":${chunkJson(c)}}\n`).join('') };

  /** A follow of the hub into memory: its events, blank lines counted; once `block()`ed, its client takes nothing until `release()`d. */
  const follow = (hub: FollowHub, id: string, after = 0) => {
    let text = '';
    let gate: Promise<void> = Promise.resolve();
    let release: () => void = () => {};
    const abort = new AbortController();
    const done = hub.follow(id, after, CHUNKS, async (bytes) => {
      await gate;
      text += new TextDecoder().decode(bytes);
    }, abort.signal);
    const events = () => text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as LogFollowEvent);
    const lines = () => events().flatMap((e) => (e.type === 'chunk' ? linesOfChunk(e.chunk) : []));
    const block = () => (gate = new Promise<void>((resolve) => (release = resolve)));
    return { done, events, lines, blanks: () => text.split('\n').filter((l) => l === '').length - 1, block, release: () => release(), abort: () => abort.abort() };
  };

  const hubOn = (db: TestDatabase['db'], signals: TaskSignals, options: Partial<ConstructorParameters<typeof FollowHub>[0]> = {}) =>
    new FollowHub({ db, signals, pollMs: 60_000, keepAliveMs: 60_000, bufferBytes: 64 * 1024, pageBytes: 1024 * 1024, ...options });

  it('gives a follow that joins ahead of the shared reader only the lines after its position, and ends every follow with its task', async () => {
    const signals = new TaskSignals();
    const hub = hubOn(tasks.database.db, signals);
    const id = await runningTask();
    const early = follow(hub, id);
    await eventually(() => early.events().some((e) => e.type === 'status'), 'first follow caught up');
    // The log holds one line; a follow asking for lines after position 3 waits for them.
    const ahead = follow(hub, id, 3);
    await eventually(() => ahead.events().some((e) => e.type === 'status'), 'second follow caught up');
    expect(hub.tasksFollowed).toBe(1);
    await store(id, 1, ['p2', 'p3', 'p4', 'p5']);
    signals.taskChanged(id);
    await eventually(() => early.lines().length === 5, 'lines reached the first follow');
    await eventually(() => ahead.lines().length === 2, 'lines reached the second follow');
    expect(early.lines().map((l) => `${l.position}:${l.text}`).slice(1)).toEqual(['2:p2', '3:p3', '4:p4', '5:p5']);
    expect(ahead.lines().map((l) => `${l.position}:${l.text}`)).toEqual(['4:p4', '5:p5']);
    await stop(id);
    signals.taskChanged(id);
    await Promise.all([early.done, ahead.done]);
    for (const f of [early, ahead]) expect(f.events().at(-1)).toEqual({ type: 'end', status: 'STOPPED', exitCode: 0 });
    expect(hub.tasksFollowed).toBe(0);
  });

  it('read() resolves once the follows at the live edge have read what was stored before it (an exit\'s ack waits on it), at once when none, and at most after its bound', async () => {
    const signals = new TaskSignals();
    const hub = hubOn(tasks.database.db, signals);
    const id = await runningTask();
    const start = Date.now();
    await hub.read(id, 60_000); // nothing follows it here
    expect(Date.now() - start).toBeLessThan(1000);
    const f = follow(hub, id);
    await eventually(() => f.events().some((e) => e.type === 'status'), 'follow caught up');
    // Nothing wakes its reader (it polls once a minute): the bound ends the wait.
    const bounded = Date.now();
    await hub.read(id, 200);
    expect(Date.now() - bounded).toBeGreaterThanOrEqual(150);
    // A read the wake starts: read() resolves once the end has been read and queued, no sooner.
    await store(id, 1, ['last-line']);
    await stop(id);
    signals.taskChanged(id);
    await hub.read(id, 60_000);
    expect(f.lines().map((l) => l.text)).toContain('last-line');
    await f.done;
    expect(f.events().at(-1)).toEqual({ type: 'end', status: 'STOPPED', exitCode: 0 });
  });

  it('keeps what waits for a client that takes nothing bounded; it catches up from the database once it reads', async () => {
    const signals = new TaskSignals();
    const hub = hubOn(tasks.database.db, signals, { bufferBytes: 16 * 1024 });
    const id = await runningTask();
    const blocked = follow(hub, id);
    const reading = follow(hub, id);
    await eventually(() => [blocked, reading].every((f) => f.events().some((e) => e.type === 'status')), 'follows caught up');
    // Both at the live edge; from now on one client takes nothing.
    blocked.block();
    let most = 0;
    const wanted: string[] = [];
    for (let round = 0; round < 20; round++) {
      const texts = Array.from({ length: 40 }, (_, i) => `${round * 40 + i + 1} ${'y'.repeat(100)}`);
      await store(id, round * 40 + 1, texts);
      wanted.push(...texts);
      signals.taskChanged(id);
      await eventually(() => reading.lines().length === wanted.length + 1, `round ${round}`);
      most = Math.max(most, hub.bufferedBytes);
    }
    // 20 chunks of about 4.5 KiB: the blocked follow holds its limit and a chunk (or, on its own
    // reads, a page), not all of them.
    expect(most).toBeGreaterThan(8 * 1024);
    expect(most).toBeLessThan(16 * 1024 + 8 * 1024);
    await stop(id);
    signals.taskChanged(id);
    await reading.done;
    blocked.release();
    await blocked.done;
    for (const f of [blocked, reading]) {
      expect(f.lines().filter((l) => l.stream === 'stdout').map((l) => l.text)).toEqual(wanted);
      expect(f.events().filter((e) => e.type === 'end')).toHaveLength(1);
    }
  });

  it('holds its follows, with keep-alive lines, while the database is away, and reads on once it answers', async () => {
    const signals = new TaskSignals();
    let down = false;
    const db = tasks.database.db.withPlugin({
      transformQuery: (args) => {
        if (down) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:55432'), { code: 'ECONNREFUSED' });
        return args.node;
      },
      transformResult: async (args) => args.result,
    });
    const hub = hubOn(db, signals, { pollMs: 20, keepAliveMs: 50 });
    const id = await runningTask();
    const follows = [follow(hub, id), follow(hub, id)];
    await eventually(() => follows.every((f) => f.events().some((e) => e.type === 'status')), 'follows caught up');
    down = true;
    await store(id, 1, ['while away']);
    await eventually(() => follows.every((f) => f.blanks() >= 2), 'keep-alive lines while the database is away');
    expect(follows.every((f) => f.lines().length === 1)).toBe(true);
    down = false;
    await stop(id);
    await Promise.all(follows.map((f) => f.done));
    for (const f of follows) {
      expect(f.lines().map((l) => l.text)).toEqual(['Task status is PROVISIONING, desired status is RUNNING', 'while away']);
      expect(f.events().at(-1)).toEqual({ type: 'end', status: 'STOPPED', exitCode: 0 });
    }
  });

  it('ends the follows of a task deleted while followed, without an end, and lets a follow go when it is stopped', async () => {
    const signals = new TaskSignals();
    const hub = hubOn(tasks.database.db, signals);
    const id = await runningTask();
    const [kept, left] = [follow(hub, id), follow(hub, id)];
    await eventually(() => [kept, left].every((f) => f.events().some((e) => e.type === 'status')), 'follows caught up');
    left.abort();
    await left.done;
    await tasks.database.db.deleteFrom('task_log_chunks').where('task_id', '=', id).execute();
    await tasks.database.db.deleteFrom('task_events').where('task_id', '=', id).execute();
    await tasks.database.db.deleteFrom('tasks').where('id', '=', id).execute();
    signals.taskChanged(id);
    await kept.done;
    expect(kept.events().some((e) => e.type === 'end')).toBe(false);
    expect(hub.tasksFollowed).toBe(0);
  });
});
