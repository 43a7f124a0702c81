import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { inspect } from 'node:util';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DockerEngineWatch, withoutKeepAlive } from './engine-watch.js';

// The watch against a real HTTP server on a unix socket that answers `/_ping` as dockerd does,
// switched off and on (a real dockerd restarted: test/faults/docker-engine.test.ts).
const dir = mkdtempSync(join(tmpdir(), 'tapit-engine-watch-'));
const socketPath = join(dir, 'engine.sock');
let server: Server | null = null;
let connections = 0;
let watch: DockerEngineWatch | null = null;

async function engineUp(): Promise<void> {
  server = createServer((req, res) => res.end(req.url === '/_ping' ? 'OK' : '{}'));
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server!.listen(socketPath, resolve));
}

async function engineDown(): Promise<void> {
  const s = server!;
  server = null;
  s.closeAllConnections();
  await new Promise((resolve) => s.close(resolve));
}

afterEach(async () => {
  watch?.stop();
  if (server) await engineDown();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('DockerEngineWatch', () => {
  it('tells an engine that answers from one that is gone, with the cause, and says when it is back', async () => {
    await engineUp();
    watch = new DockerEngineWatch(withoutKeepAlive(new Docker({ socketPath })), 60_000);
    const changes: (string | null)[] = [];
    watch.onChange((cause) => changes.push(cause));
    expect(await watch.check()).toBeNull();

    await engineDown();
    expect(await watch.check()).toBe(`connect ENOENT ${socketPath}`);
    expect(watch.unreachable).toBe(`connect ENOENT ${socketPath}`);
    const back = watch.reachable();
    await engineUp();
    // Nobody started the periodic check: a waiter alone makes it try again, with backoff.
    await back;
    expect(watch.unreachable).toBeNull();
    expect(changes).toEqual([`connect ENOENT ${socketPath}`, null]);
  });

  it('asks on a new connection each time, so an engine that stopped listening is not taken for alive', async () => {
    await engineUp();
    watch = new DockerEngineWatch(withoutKeepAlive(new Docker({ socketPath })), 60_000);
    const before = connections;
    await watch.check();
    await watch.check();
    await watch.check();
    expect(connections - before).toBe(3);
  });

  it('once started, notices by itself that the engine went away', async () => {
    await engineUp();
    watch = new DockerEngineWatch(withoutKeepAlive(new Docker({ socketPath })), 50);
    watch.start();
    const gone = new Promise<string | null>((resolve) => watch!.onChange(resolve));
    await engineDown();
    expect(await gone).toMatch(/^connect (ENOENT|ECONNREFUSED) /);
  });
});

describe('withoutKeepAlive', () => {
  it('gives the engine client an HTTP agent whose description stays short, however many streams it holds open', async () => {
    // docker-modem passes every request's options, this agent among them, to util.inspect with
    // showHidden and no depth limit, debugging or not: with its sockets and what they buffered
    // (a log stream's), that took up to half a second per engine call under a flood.
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write(Buffer.alloc(64 * 1024));
    });
    await new Promise<void>((resolve) => server!.listen(socketPath, resolve));
    const docker = withoutKeepAlive(new Docker({ socketPath }));
    const streams = await Promise.all(Array.from({ length: 8 }, () => docker.getContainer('flood').logs({ follow: true, stdout: true })));
    await new Promise((resolve) => setTimeout(resolve, 100)); // their first bytes arrive, unread
    const described = inspect((docker.modem as { agent?: unknown }).agent, { showHidden: true, depth: null });
    for (const stream of streams) (stream as unknown as { destroy(): void }).destroy();
    expect(described.length).toBeLessThan(200);
  });
});
