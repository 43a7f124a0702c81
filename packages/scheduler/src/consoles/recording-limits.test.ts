import { ConsoleChannel, encodeConsoleData, type Task } from '@tapit/protocol';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../testing/eventually.js';
import { ProtocolAgent } from '../testing/protocol-agent.js';
import { ADMIN_TOKEN, APP_PATH } from '../testing/test-app.js';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';
import { JOIN_TOKEN, startTestScheduler } from '../testing/test-scheduler.js';

/** Recordings are bounded when written (TAPIT_CONSOLE_RECORDING_MAX_BYTES) and streamed when read. */
describe('console recordings: size limit and streamed reads', () => {
  let database: TestDatabase;
  let scheduler: Awaited<ReturnType<typeof startTestScheduler>>;
  let agent: ProtocolAgent;
  let task: Task;
  const ws = (url: string) => url.replace(/^http/, 'ws');

  beforeAll(async () => {
    database = await createTestDatabase('postgres', { migrated: false });
    scheduler = await startTestScheduler(database, { TAPIT_CONSOLE_RECORDING_MAX_BYTES: '4096' });
    agent = await ProtocolAgent.connect(scheduler.url, JOIN_TOKEN);
    await agent.hello('alpha');
    await scheduler.call('POST', APP_PATH, { name: 'web', image: 'web:1' });
    task = (await scheduler.call('POST', `${APP_PATH}/web/tasks`, { command: 'bash', kind: 'interactive' })).body;
    const { task: assigned } = await agent.next('task.assign');
    agent.send({ type: 'task.status', taskId: assigned.taskId, status: 'RUNNING', at: new Date().toISOString() });
    await eventually(async () => (await scheduler.call('GET', `/v1/tasks/${task.id}`)).body.status === 'RUNNING');
  });
  afterAll(async () => {
    agent.close();
    await scheduler.close();
    await database.drop();
  });

  /** A session whose program prints `outputs`; what the client was shown, and the session's id. */
  async function session(outputs: string[]) {
    const client = new WebSocket(`${ws(scheduler.url)}/v1/tasks/${task.id}/console`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const shown: Buffer[] = [];
    client.on('message', (data, isBinary) => isBinary && shown.push(Buffer.from(data as Buffer).subarray(1)));
    const clientClosed = new Promise<void>((resolve) => client.on('close', () => resolve()));
    await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
    const open = await agent.next('console.open');
    const stream = new WebSocket(`${ws(scheduler.url)}/v1/agents/consoles/${open.sessionId}`, { headers: { authorization: `Bearer ${agent.credential}` } });
    await new Promise((resolve, reject) => stream.once('open', resolve).once('error', reject));
    for (const output of outputs) stream.send(encodeConsoleData(ConsoleChannel.stdout, Buffer.from(output)));
    await eventually(() => Buffer.concat(shown).length >= outputs.join('').length);
    stream.send(JSON.stringify({ type: 'exited', exitCode: 0 }));
    stream.close();
    await clientClosed;
    await eventually(async () => (await scheduler.call('GET', `/v1/tasks/${task.id}/consoles`)).body.items.find((s: { id: string }) => s.id === open.sessionId)?.closedAt != null);
    return { shown: Buffer.concat(shown).toString(), sessionId: open.sessionId as string };
  }

  const readCast = (sessionId: string) => fetch(`${scheduler.url}/v1/consoles/${sessionId}/recording`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const eventsOf = (cast: string) =>
    cast
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((line) => JSON.parse(line) as [number, string, string]);

  it('stops recording at the limit, says so where it was cut and counts what was left out, while the session goes on', async () => {
    const outputs = Array.from({ length: 20 }, (_, i) => `${String(i).padStart(2, '0')}:${'x'.repeat(497)}\n`);
    const { shown, sessionId } = await session(outputs);
    expect(shown).toBe(outputs.join(''));
    const cast = await (await readCast(sessionId)).text();
    const events = eventsOf(cast);
    const output = events.filter((e) => e[1] === 'o').map((e) => e[2]);
    // The first outputs in full and in order, up to the limit; none past it.
    expect(output.length).toBeGreaterThan(0);
    expect(output.join('')).toBe(outputs.slice(0, output.length).join(''));
    expect(output.length).toBeLessThan(outputs.length);
    const markers = events.filter((e) => e[1] === 'm').map((e) => e[2]);
    expect(markers).toEqual([
      'recording limit reached: a recording holds at most 4 KiB (TAPIT_CONSOLE_RECORDING_MAX_BYTES); the rest of the session is not recorded',
      expect.stringMatching(/^recording limit: \d+ bytes of the session's events were not recorded \(TAPIT_CONSOLE_RECORDING_MAX_BYTES\)$/),
    ]);
    const dropped = Number(/(\d+) bytes/.exec(markers[1]!)![1]);
    const lineBytes = (e: [number, string, string]) => Buffer.byteLength(`${JSON.stringify(e)}\n`);
    expect(events.filter((e) => e[1] !== 'm').reduce((n, e) => n + lineBytes(e), 0)).toBeLessThanOrEqual(4096);
    expect(dropped).toBeGreaterThan(0);
  });

  it('sends a recording of many chunks streamed, every event once and in order', async () => {
    const { sessionId } = await session(['short session\n']);
    // Past a page of chunks: stored as the recorder stores them, one row per flush.
    const rows = Array.from({ length: 41 }, (_, i) => ({ session_id: sessionId, seq: 100 + i, events: `${JSON.stringify([i + 1, 'o', `chunk ${i}\n`])}\n` }));
    await database.db.insertInto('console_recording_chunks').values(rows).execute();
    const response = await readCast(sessionId);
    expect(response.headers.get('transfer-encoding')).toBe('chunked');
    expect(response.headers.get('content-length')).toBeNull();
    const output = eventsOf(await response.text())
      .filter((e) => e[1] === 'o')
      .map((e) => e[2]);
    expect(output).toEqual(['short session\n', ...rows.map((_, i) => `chunk ${i}\n`)]);
  });
});
