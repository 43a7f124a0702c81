import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { encodeConsoleData } from '@tapit/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { ApiClient } from './api-client.js';
import { connectConsole, type ConnectIo } from './console-connect.js';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** A scheduler stand-in that serves each console connection with the next of `sessions`. */
async function fakeScheduler(sessions: ((ws: WebSocket) => void)[]): Promise<ApiClient> {
  const wss = new WebSocketServer({ noServer: true });
  let next = 0;
  server = createServer();
  // Frames sent with the upgrade's answer (as a fast agent's can be) must not be lost either.
  server.on('upgrade', (request, socket, head) => wss.handleUpgrade(request, socket, head, (ws) => sessions[next++]?.(ws)));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return new ApiClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 'secret');
}

describe('connectConsole', () => {
  it('reconnects a dropped console by itself and shows only what it had not shown', async () => {
    const client = await fakeScheduler([
      (ws) => {
        ws.send(JSON.stringify({ type: 'attached', sessionId: 'a', replayed: 3, offset: 0 }));
        ws.send(encodeConsoleData(1, Buffer.from('abc')));
        ws.send(encodeConsoleData(1, Buffer.from('de')));
        setTimeout(() => ws.terminate(), 50);
      },
      (ws) => {
        // 'fg' came while the link was down: the replay holds it after what was shown.
        ws.send(JSON.stringify({ type: 'attached', sessionId: 'b', replayed: 6, offset: 1 }));
        ws.send(encodeConsoleData(1, Buffer.from('bcdefg')));
        ws.send(encodeConsoleData(1, Buffer.from('h')));
        ws.send(JSON.stringify({ type: 'exited', exitCode: 4 }));
      },
    ]);
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const io = { stdin: new PassThrough(), stdout, stderr } as unknown as ConnectIo;
    const code = await connectConsole(client, { taskId: 'abcd', mode: 'attach', tty: false }, io, {});
    expect(code).toBe(4);
    expect(String(stdout.read())).toBe('abcdefgh');
    expect(String(stderr.read())).toBe('[tapit] connection lost, reconnecting (0s)…\n[tapit] reconnected\n');
  });
});
