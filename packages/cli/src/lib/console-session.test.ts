import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { decodeConsoleData, encodeConsoleData } from '@tapit/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { ApiClient, ApiError } from './api-client.js';
import { ConsoleSession, type ConsoleSessionOptions } from './console-session.js';
import { openConsoleSocket } from './console-socket.js';
import { InputLedger } from './input-ledger.js';

/** What the fake scheduler received: stdin bytes as `0:<text>`, control frames as their JSON. */
type Received = string[];

interface Fake {
  client: ApiClient;
  /** The server side of the next connection. */
  connection: Promise<WebSocket>;
  received: Received;
  upgrades: { url: string; authorization: string | undefined }[];
}

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** A scheduler stand-in: refuses with `refuse` (status + body) or upgrades and records frames. */
async function fakeScheduler(refuse?: { status: number; body: string }): Promise<Fake> {
  const received: Received = [];
  const upgrades: Fake['upgrades'] = [];
  const wss = new WebSocketServer({ noServer: true });
  let deliver: (ws: WebSocket) => void = () => {};
  const connection = new Promise<WebSocket>((resolve) => (deliver = resolve));
  server = createServer();
  server.on('upgrade', (request, socket, head) => {
    upgrades.push({ url: request.url ?? '', authorization: request.headers.authorization });
    if (refuse) {
      socket.end(`HTTP/1.1 ${refuse.status} Refused\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(refuse.body)}\r\nConnection: close\r\n\r\n${refuse.body}`);
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      ws.on('message', (data, isBinary) => {
        if (!isBinary) return void received.push(data.toString());
        const decoded = decodeConsoleData(data as Buffer)!;
        received.push(`${decoded.channel}:${Buffer.from(decoded.data).toString('latin1')}`);
      });
      deliver(ws);
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { client: new ApiClient(`http://127.0.0.1:${port}`, 'secret'), connection, received, upgrades };
}

function streams() {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const read = (stream: PassThrough) => () => Buffer.from((stream.read() as Buffer | null) ?? []);
  return { io: { stdin, stdout, stderr }, stdin, out: read(stdout), err: read(stderr) };
}

async function start(options: Partial<ConsoleSessionOptions> = {}) {
  const fake = await fakeScheduler();
  const socket = await openConsoleSocket(fake.client, '/v1/tasks/abcd/console', { cols: 80, rows: 24 });
  const local = streams();
  const session = new ConsoleSession(socket, local.io, { detachKeys: true, closeStdin: false, ...options });
  const end = session.run();
  const remote = await fake.connection;
  return { ...fake, ...local, session, end, remote };
}

const until = async (check: () => boolean, what: string) => {
  const deadline = Date.now() + 2000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

describe('ConsoleSession', () => {
  it('upgrades with the bearer token and the size in the query', async () => {
    const { upgrades, remote } = await start();
    expect(upgrades).toEqual([{ url: '/v1/tasks/abcd/console?cols=80&rows=24', authorization: 'Bearer secret' }]);
    remote.close();
  });

  it('writes channel 1 to stdout and 2 to stderr byte for byte, and ends with the exit code', async () => {
    const { remote, out, err, end } = await start();
    const binary = Buffer.from([0x1b, 0x5b, 0x32, 0x4a, 0xff, 0x00, 0xc3]);
    remote.send(encodeConsoleData(1, binary));
    remote.send(encodeConsoleData(2, Buffer.from('oops\n')));
    remote.send(JSON.stringify({ type: 'exited', exitCode: 7 }));
    expect(await end).toEqual({ type: 'exited', exitCode: 7 });
    expect(out()).toEqual(binary);
    expect(err().toString()).toBe('oops\n');
  });

  it('sends each keystroke at once as its own channel-0 message, control keys unchanged', async () => {
    const { stdin, received, remote, end } = await start();
    stdin.write(Buffer.from('l'));
    await until(() => received.length === 1, 'the first key');
    stdin.write(Buffer.from([0x03]));
    await until(() => received.length === 2, 'Ctrl-C');
    expect(received).toEqual(['0:l', '0:\x03']);
    remote.send(JSON.stringify({ type: 'exited', exitCode: null }));
    expect(await end).toEqual({ type: 'exited', exitCode: null });
  });

  it('an error frame ends the session with its message', async () => {
    const { remote, end } = await start();
    remote.send(JSON.stringify({ type: 'error', message: 'the agent does not serve consoles yet' }));
    expect(await end).toEqual({ type: 'error', message: 'the agent does not serve consoles yet' });
  });

  it('Ctrl-P Ctrl-Q sends what was typed before, then detach, and closes the socket', async () => {
    const { stdin, received, end, remote } = await start();
    const closed = new Promise((resolve) => remote.once('close', resolve));
    stdin.write(Buffer.from('ab\x10'));
    stdin.write(Buffer.from('\x11zz'));
    expect(await end).toEqual({ type: 'detached' });
    await closed;
    expect(received).toEqual(['0:ab', JSON.stringify({ type: 'detach' })]);
  });

  it('a lone Ctrl-P reaches the program after a short pause', async () => {
    const { stdin, received, remote } = await start({ detachHoldMs: 30 });
    stdin.write(Buffer.from([0x10]));
    await until(() => received.length === 1, 'the held Ctrl-P');
    expect(received).toEqual(['0:\x10']);
    remote.close();
  });

  it('without detach keys (pipes) Ctrl-P Ctrl-Q are data; the end of stdin sends stdin.close', async () => {
    const { stdin, received, remote, end } = await start({ detachKeys: false, closeStdin: true });
    stdin.end(Buffer.from('hi\x10\x11\n'));
    await until(() => received.length === 2, 'stdin and its end');
    expect(received).toEqual(['0:hi\x10\x11\n', JSON.stringify({ type: 'stdin.close' })]);
    remote.send(JSON.stringify({ type: 'exited', exitCode: 0 }));
    expect(await end).toEqual({ type: 'exited', exitCode: 0 });
  });

  it('a terminal resize sends the new size', async () => {
    const terminal = Object.assign(new EventEmitter(), { columns: 80, rows: 24 });
    const { received, remote } = await start({ resizeFrom: terminal });
    terminal.columns = 100;
    terminal.rows = 30;
    terminal.emit('resize');
    await until(() => received.length === 1, 'the resize');
    expect(JSON.parse(received[0]!)).toEqual({ type: 'resize', cols: 100, rows: 30 });
    remote.close();
  });

  it('a connection that drops without exit or detach is reported as dropped', async () => {
    const { remote, end } = await start();
    remote.terminate();
    expect(await end).toMatchObject({ type: 'dropped' });
  });

  it('a scheduler that goes silent is given up on', async () => {
    const { end } = await start({ silenceLimitMs: 100 });
    expect(await end).toEqual({ type: 'dropped', reason: 'no answer from the scheduler for 0 s' });
  });

  it('reconnecting, shows of the replay only what the last session did not (shownUpTo), and counts on', async () => {
    const first = await start();
    first.remote.send(JSON.stringify({ type: 'attached', sessionId: 's1', replayed: 4, offset: 100 }));
    first.remote.send(encodeConsoleData(1, Buffer.from('abcd')));
    first.remote.send(encodeConsoleData(1, Buffer.from('ef')));
    await until(() => first.session.shown === 106, 'the first session to count its bytes');
    first.remote.terminate();
    expect(await first.end).toMatchObject({ type: 'dropped' });
    expect(first.out().toString()).toBe('abcdef');
    // The console printed 'gh' while the link was down: the replay holds 'cdefgh' (from 102).
    const second = await start({ shownUpTo: first.session.shown });
    second.remote.send(JSON.stringify({ type: 'attached', sessionId: 's2', replayed: 6, offset: 102 }));
    second.remote.send(encodeConsoleData(1, Buffer.from('cde')));
    second.remote.send(encodeConsoleData(1, Buffer.from('fghi')));
    second.remote.send(JSON.stringify({ type: 'exited', exitCode: 0 }));
    expect(await second.end).toEqual({ type: 'exited', exitCode: 0 });
    expect(second.out().toString()).toBe('ghi');
    expect(second.session.shown).toBe(109);
  });

  it('reconnecting, sends first the keys the last link lost (inputReceived), then those typed meanwhile', async () => {
    const ledger = new InputLedger();
    const first = await start({ ledger });
    first.stdin.write(Buffer.from('echo a\r'));
    first.stdin.write(Buffer.from('echo b\r'));
    await until(() => first.received.length === 2, 'both lines');
    first.remote.terminate();
    expect(await first.end).toMatchObject({ type: 'dropped' });
    // Typed while the link is down: read when the next session starts, before its `attached`.
    const second = await start({ ledger, resuming: true });
    second.stdin.write(Buffer.from('echo c\r'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(second.received).toEqual([]);
    // The console took 'echo a\r' only: 'echo b\r' was in flight on the broken link.
    second.remote.send(JSON.stringify({ type: 'attached', sessionId: 's2', replayed: 0, offset: 0, inputReceived: 7 }));
    await until(() => second.received.length === 1, 'the lost line and the held one');
    expect(second.received).toEqual(['0:echo b\recho c\r']);
    second.remote.send(JSON.stringify({ type: 'exited', exitCode: 0 }));
    await second.end;
  });

  it('reconnecting to a console that does not know this CLI (an agent restart), sends again nothing already sent', async () => {
    const ledger = new InputLedger();
    ledger.record(Buffer.from('echo a\r'));
    const { stdin, received, remote, end } = await start({ ledger, resuming: true });
    stdin.write(Buffer.from('x'));
    remote.send(JSON.stringify({ type: 'attached', sessionId: 's', replayed: 0 }));
    await until(() => received.length === 1, 'the held key');
    expect(received).toEqual(['0:x']);
    remote.send(JSON.stringify({ type: 'exited', exitCode: 0 }));
    await end;
  });

  it('reconnecting to an agent that does not place its replay, shows none of it rather than twice', async () => {
    const { remote, out, end, session } = await start({ shownUpTo: 50 });
    remote.send(JSON.stringify({ type: 'attached', sessionId: 's', replayed: 3 }));
    remote.send(encodeConsoleData(1, Buffer.from('old')));
    remote.send(encodeConsoleData(1, Buffer.from('new')));
    remote.send(JSON.stringify({ type: 'exited', exitCode: 0 }));
    await end;
    expect(out().toString()).toBe('new');
    expect(session.shown).toBeUndefined();
  });

  it('leave (a signal) detaches so the console keeps running', async () => {
    const { session, received, end } = await start();
    session.leave('SIGTERM');
    expect(await end).toEqual({ type: 'signal', signal: 'SIGTERM' });
    await until(() => received.length === 1, 'the detach');
    expect(received).toEqual([JSON.stringify({ type: 'detach' })]);
  });
});

describe('openConsoleSocket', () => {
  it("turns a refused upgrade into the API's error", async () => {
    const body = JSON.stringify({ error: { code: 'CONFLICT', message: 'task abcd is STOPPED: only a RUNNING task has a console' } });
    const fake = await fakeScheduler({ status: 409, body });
    const error = await openConsoleSocket(fake.client, '/v1/tasks/abcd/console', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 409, code: 'CONFLICT', message: 'task abcd is STOPPED: only a RUNNING task has a console', exitCode: 2 });
  });

  it('says when the scheduler cannot be reached', async () => {
    const error = await openConsoleSocket(new ApiClient('http://127.0.0.1:1', 't'), '/v1/tasks/abcd/console', {}).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'UNREACHABLE', message: 'could not reach http://127.0.0.1:1: ECONNREFUSED' });
  });
});
