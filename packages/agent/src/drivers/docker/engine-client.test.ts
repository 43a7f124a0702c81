import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StartError } from '../driver.js';
import { spec } from '../../testing/docker-fixtures.js';
import { DockerDriver } from './docker-driver.js';

// An engine that answers every request with a redirect to another host: the real engine does so
// for paths it cleans (issue 8). The agent must follow none and stay up.
const dir = mkdtempSync(join(tmpdir(), 'tapit-fake-engine-'));
const socketPath = join(dir, 'docker.sock');
const requests: string[] = [];
const elsewhere: string[] = [];
let engine: HttpServer;
let target: Server;
let driver: DockerDriver;
const hooks = { onSystemLine: () => undefined, onCreated: () => undefined };

beforeAll(async () => {
  target = createServer((socket) => {
    socket.once('data', (d) => elsewhere.push(d.toString().split('\r\n')[0]!));
    socket.end('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}');
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  const port = (target.address() as AddressInfo).port;
  engine = createHttpServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(301, { location: `http://127.0.0.1:${port}/elsewhere`, 'content-length': '0' });
    res.end();
  });
  await new Promise<void>((r) => engine.listen(socketPath, r));
  driver = new DockerDriver({ agentName: 'a1', network: 'none', docker: new Docker({ socketPath }), pidMax: 32_768 });
});

afterAll(async () => {
  await new Promise((r) => engine?.close(r));
  await new Promise((r) => target?.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('the engine client', () => {
  it('never follows a redirect from the engine: the call fails, nothing connects elsewhere', async () => {
    await expect(driver.capacity()).rejects.toThrow(/redirect/i);
    await expect(driver.start(spec('t'), hooks)).rejects.toThrow(new StartError('the Docker engine answered with a redirect, which the agent does not follow'));
    await new Promise((r) => setTimeout(r, 300));
    expect(requests.length).toBeGreaterThanOrEqual(2);
    expect(elsewhere).toEqual([]);
  });

  it('checks an image reference before the engine hears of the task', async () => {
    requests.length = 0;
    for (const image of ['a/../b', 'a/../../127.0.0.1:9/path', 'busybox:../x']) {
      const error = await driver.start(spec('t', { image }), hooks).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StartError);
      expect((error as Error).message).toMatch(/^image ".+": /);
    }
    expect(requests).toEqual([]);
  });
});
