import { describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { ApiError } from './api-client.js';
import { DEFAULT_RECONNECT_SECONDS, reconnectConsole, reconnectSeconds, StatusLine, type ReconnectOptions } from './console-reconnect.js';

const socket = { terminate() {} } as unknown as WebSocket;

function terminal(isTTY: boolean) {
  const written: string[] = [];
  return { written, stderr: { isTTY, write: (text: string) => written.push(text) } };
}

function options(open: ReconnectOptions['open'], more: Partial<ReconnectOptions> = {}): ReconnectOptions {
  return { forMs: 5000, reason: 'connection lost', open, taskEnd: async () => undefined, status: new StatusLine(terminal(false).stderr), stop: new AbortController().signal, ...more };
}

describe('reconnectConsole', () => {
  it('tries again while the scheduler is down or the agent not connected, then hands back the socket', async () => {
    const answers: (Error | WebSocket)[] = [new ApiError('could not reach', null, 'UNREACHABLE'), new ApiError('agent a is not connected to any scheduler replica', 409, 'CONFLICT'), socket];
    let tries = 0;
    const result = await reconnectConsole(options(async () => {
      const answer = answers[tries++]!;
      if (answer instanceof Error) throw answer;
      return answer;
    }));
    expect(result).toEqual({ socket });
    expect(tries).toBe(3);
  });

  it('gives up after its time, saying why', async () => {
    const result = await reconnectConsole(options(async () => Promise.reject(new ApiError('could not reach http://x: ECONNREFUSED', null, 'UNREACHABLE')), { forMs: 600 }));
    expect(result).toEqual({ end: { type: 'dropped', reason: 'connection lost; gave up reconnecting after 1 s: could not reach http://x: ECONNREFUSED' } });
  });

  it('ends with the exit code of a task that stopped meanwhile, and at once on a refusal for good', async () => {
    const stopped = await reconnectConsole(options(async () => Promise.reject(new ApiError('task t is STOPPED', 409, 'CONFLICT')), { taskEnd: async () => ({ type: 'exited', exitCode: 3 }) }));
    expect(stopped).toEqual({ end: { type: 'exited', exitCode: 3 } });
    const revoked = await reconnectConsole(options(async () => Promise.reject(new ApiError('invalid or revoked token', 401, 'UNAUTHORIZED'))));
    expect(revoked).toEqual({ end: { type: 'error', message: 'invalid or revoked token' } });
  });

  it('stops at a signal', async () => {
    const stop = new AbortController();
    stop.abort('SIGTERM');
    expect(await reconnectConsole(options(async () => socket, { stop: stop.signal }))).toEqual({ end: { type: 'signal', signal: 'SIGTERM' } });
  });

  it('shows one status line on a terminal and takes it away again, the cursor back where it was', async () => {
    const tty = terminal(true);
    await reconnectConsole(options(async () => socket, { status: new StatusLine(tty.stderr) }));
    expect(tty.written.join('')).toBe('\x1bD\x1bM\x1b7\x1bD\r[tapit] connection lost, reconnecting (0s)…\x1b[K\r\x1b[2K\x1b8');
    const pipe = terminal(false);
    await reconnectConsole(options(async () => socket, { status: new StatusLine(pipe.stderr) }));
    expect(pipe.written).toEqual(['[tapit] connection lost, reconnecting (0s)…\n', '[tapit] reconnected\n']);
  });
});

describe('reconnectSeconds', () => {
  it('is TAPIT_RECONNECT_SECONDS, 60 unless set, and names the variable when it is bad', () => {
    expect(reconnectSeconds({})).toBe(DEFAULT_RECONNECT_SECONDS);
    expect(reconnectSeconds({ TAPIT_RECONNECT_SECONDS: '0' })).toBe(0);
    expect(reconnectSeconds({ TAPIT_RECONNECT_SECONDS: '15' })).toBe(15);
    expect(() => reconnectSeconds({ TAPIT_RECONNECT_SECONDS: 'soon' })).toThrow(/^TAPIT_RECONNECT_SECONDS: must be a whole number of seconds/);
  });
});
