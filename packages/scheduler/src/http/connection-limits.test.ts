import { connect, type Socket } from 'node:net';
import { ConsoleChannel, decodeConsoleData, encodeConsoleData, type Task } from '@tapit/protocol';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../testing/eventually.js';
import { ProtocolAgent } from '../testing/protocol-agent.js';
import { ADMIN_TOKEN, APP_PATH } from '../testing/test-app.js';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';
import { JOIN_TOKEN, startTestScheduler } from '../testing/test-scheduler.js';

/** A raw TCP connection from a chosen loopback address, recording what it receives. */
function open(url: string, localAddress = '127.0.0.1') {
  const { hostname, port } = new URL(url);
  const socket: Socket = connect({ host: hostname, port: Number(port), localAddress });
  let received = '';
  let closed = false;
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => (received += d));
  socket.on('error', () => {});
  socket.on('close', () => (closed = true));
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, connected, received: () => received, closed: () => closed };
}

/** One GET on a fresh connection from `localAddress`: its status line and body. */
async function getFrom(url: string, path: string, localAddress: string) {
  const c = open(url, localAddress);
  await c.connected;
  c.socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  await eventually(() => c.closed(), `answer to GET ${path} from ${localAddress}`);
  const [head, body] = c.received().split('\r\n\r\n');
  return { status: Number(head.split(' ')[1]), head, body };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('connections of strangers', () => {
  let database: TestDatabase;
  // Short timeouts, default bounds.
  let quick: Awaited<ReturnType<typeof startTestScheduler>>;
  // Small bounds, default timeouts; only raw sockets talk to it, so every connection is counted.
  let small: Awaited<ReturnType<typeof startTestScheduler>>;
  const smallLog: string[] = [];
  const sockets: Socket[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('postgres', { migrated: false });
    quick = await startTestScheduler(database, {
      TAPIT_HEADERS_TIMEOUT_MS: '300',
      TAPIT_REQUEST_TIMEOUT_MS: '600',
      TAPIT_KEEP_ALIVE_TIMEOUT_MS: '300',
    });
    small = await startTestScheduler(database, { TAPIT_MAX_CONNECTIONS: '6', TAPIT_MAX_CONNECTIONS_PER_ADDRESS: '4' }, (line) => smallLog.push(line));
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await quick.close();
    await small.close();
    await database.drop();
  });

  it('closes a connection that sends nothing, one that sends its headers too slowly, and an idle keep-alive one', async () => {
    const idle = open(quick.url);
    const slow = open(quick.url);
    const kept = open(quick.url);
    sockets.push(idle.socket, slow.socket, kept.socket);
    await Promise.all([idle.connected, slow.connected, kept.connected]);
    kept.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    const drip = setInterval(() => slow.socket.write('X-Slow: 1\r\n'), 50);
    slow.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    try {
      await eventually(() => idle.closed(), 'idle connection closed');
      await eventually(() => slow.closed(), 'slow connection closed');
      await eventually(() => kept.closed(), 'idle keep-alive connection closed');
    } finally {
      clearInterval(drip);
    }
    expect(kept.received()).toMatch(/^HTTP\/1\.1 200/);
  });

  it('answers 413 with Connection: close and closes the connection', async () => {
    const c = open(quick.url);
    sockets.push(c.socket);
    await c.connected;
    const body = 'x'.repeat(1024 * 1024 + 10);
    c.socket.write(
      `POST /v1/projects HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    c.socket.write(body);
    await eventually(() => c.closed(), 'connection closed after 413');
    const head = c.received().split('\r\n\r\n')[0].toLowerCase();
    expect(head).toMatch(/^http\/1\.1 413/);
    expect(head).toContain('connection: close');
  });

  it('bounds connections per address and in total, answers why, and logs it once', async () => {
    const held = [];
    for (let i = 0; i < 4; i++) held.push(open(small.url, '127.0.0.4'));
    sockets.push(...held.map((h) => h.socket));
    await Promise.all(held.map((h) => h.connected));
    // The bound is counted when the server takes the connection, which follows the client's connect.
    await sleep(100);
    for (let i = 0; i < 10; i++) {
      const refused = await getFrom(small.url, '/healthz', '127.0.0.4');
      expect(refused.status).toBe(429);
      expect(JSON.parse(refused.body).error).toMatchObject({ code: 'RATE_LIMITED' });
      expect(JSON.parse(refused.body).error.message).toContain('127.0.0.4');
    }
    expect((await getFrom(small.url, '/healthz', '127.0.0.1')).status).toBe(200);

    const more = [open(small.url, '127.0.0.5'), open(small.url, '127.0.0.5')];
    sockets.push(...more.map((h) => h.socket));
    await Promise.all(more.map((h) => h.connected));
    await sleep(100);
    const busy = await getFrom(small.url, '/healthz', '127.0.0.6');
    expect(busy.status).toBe(503);
    expect(JSON.parse(busy.body).error).toMatchObject({ code: 'SERVER_BUSY' });

    // Closing them frees their places.
    for (const h of [...held, ...more]) h.socket.destroy();
    await eventually(async () => (await getFrom(small.url, '/healthz', '127.0.0.4')).status === 200, 'a place free again');
    const limitLines = smallLog.filter((l) => l.includes('connection'));
    expect(limitLines.length).toBeGreaterThan(0);
    expect(limitLines.length).toBeLessThanOrEqual(2);
    expect(limitLines.join('\n')).toContain('TAPIT_MAX_CONNECTIONS_PER_ADDRESS');
  });

  it('keeps an agent connection, a log follow and a console open past every timeout', async () => {
    await quick.call('POST', APP_PATH, { name: 'web', image: 'web:1' });
    const agent = await ProtocolAgent.connect(quick.url, JOIN_TOKEN);
    await agent.hello('long-lived');
    const task: Task = (await quick.call('POST', `${APP_PATH}/web/tasks`, { command: 'bash', kind: 'interactive' })).body;
    await agent.next('task.assign');
    agent.send({ type: 'task.status', taskId: task.id, status: 'RUNNING', at: new Date().toISOString() });
    await eventually(async () => (await quick.call('GET', `/v1/tasks/${task.id}`)).body.status === 'RUNNING', 'task running');

    const follow = await fetch(`${quick.url}/v1/tasks/${task.id}/logs/follow`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const reader = follow.body!.getReader();
    let followed = '';
    const reading = (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        followed += Buffer.from(value).toString();
      }
    })();

    const client = new WebSocket(`${quick.url.replace(/^http/, 'ws')}/v1/tasks/${task.id}/console`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    let screen = '';
    let clientClosed = false;
    client.on('message', (data, isBinary) => {
      if (isBinary) screen += Buffer.from(decodeConsoleData(new Uint8Array(data as Buffer))!.data).toString();
    });
    client.on('close', () => (clientClosed = true));
    await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
    const opened = await agent.next('console.open');
    const stream = new WebSocket(`${quick.url.replace(/^http/, 'ws')}/v1/agents/consoles/${opened.sessionId}`, { headers: { authorization: `Bearer ${agent.credential}` } });
    const typed: Buffer[] = [];
    stream.on('message', (data, isBinary) => isBinary && typed.push(Buffer.from(data as Buffer)));
    await new Promise((resolve, reject) => stream.once('open', resolve).once('error', reject));

    // Several times every timeout of the quick scheduler, with nothing said on any of them.
    await sleep(2500);

    agent.send({ type: 'task.log', taskId: task.id, seq: 1, lines: [{ stream: 'stdout', text: 'still here', at: new Date().toISOString() }] });
    await eventually(() => followed.includes('still here'), 'log line through the follow');
    stream.send(encodeConsoleData(ConsoleChannel.stdout, Buffer.from('$ ')));
    await eventually(() => screen === '$ ', 'console output');
    client.send(encodeConsoleData(ConsoleChannel.stdin, Buffer.from('ls\r')));
    await eventually(() => typed.length > 0, 'console input');
    expect(clientClosed).toBe(false);
    expect(agent.socket.readyState).toBe(WebSocket.OPEN);

    client.close();
    stream.close();
    await reader.cancel();
    await reading.catch(() => {});
    agent.close();
  });
});
