import type { LogFollowEvent } from '@tapit/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, APP_PATH, ADMIN_TOKEN } from '../testing/test-app.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../testing/test-database.js';
import { storeAgentLog } from './repository.js';

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

  it('ends a follow when its token is revoked, and refuses the token afterwards', async () => {
    const id = await newTask();
    const { token } = (await harness.call('POST', '/v1/tokens', { name: `follower-${kind}`, role: 'viewer' })).body;
    const response = await harness.app.request(`/v1/tasks/${id}/logs/follow`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    const body = response.text();
    expect((await harness.call('DELETE', `/v1/tokens/follower-${kind}`)).status).toBe(204);
    // The task still runs: only the revocation can have ended the stream, and without an `end`.
    const events = (await body).trim().split('\n').map((l) => JSON.parse(l) as LogFollowEvent);
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
