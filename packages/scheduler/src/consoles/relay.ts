import { ConsoleChannel, ConsoleClientFrame, ConsoleServerFrame, decodeConsoleData } from '@tapit/protocol';
import type { RawData, WebSocket } from 'ws';
import type { ConsoleRecorder } from './recorder.js';

/** Past this much unsent output to a client, stop reading from the agent until it drains. */
const CLIENT_BUFFER_LIMIT = 4 * 1024 * 1024;
const KEEPALIVE_MS = 15_000;

export interface RelayEnd {
  reason: string;
  exitCode: number | null;
}

const toBytes = (data: RawData): Uint8Array =>
  Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data;

/**
 * Pipes a client and an agent stream socket into each other, recording what passes. Frames are
 * forwarded as they come (no batching: a keystroke goes out at once); a slow client only slows
 * its own session, never the agent's control socket or other sessions. Resolves when either
 * side goes, after closing the other, or when `stop` aborts (the client is told its reason).
 */
export function relayConsole(client: WebSocket, agent: WebSocket, recorder: ConsoleRecorder, stop?: AbortSignal): Promise<RelayEnd> {
  return new Promise((resolve) => {
    let exitCode: number | null = null;
    let reason: string | undefined;
    let paused = false;
    const alive = new Map<WebSocket, boolean>([
      [client, true],
      [agent, true],
    ]);

    const drainCheck = setInterval(() => {
      if (paused && client.bufferedAmount < CLIENT_BUFFER_LIMIT / 2) {
        paused = false;
        agent.resume();
      }
    }, 50);
    const keepalive = setInterval(() => {
      for (const [ws, answered] of alive) {
        if (!answered) return ws.terminate();
        alive.set(ws, false);
        ws.ping();
      }
    }, KEEPALIVE_MS);
    for (const ws of [client, agent]) ws.on('pong', () => alive.set(ws, true));

    client.on('message', (data, isBinary) => {
      if (isBinary) {
        const message = toBytes(data);
        const decoded = decodeConsoleData(message);
        if (!decoded || decoded.channel !== ConsoleChannel.stdin) return;
        recorder.recordInput(decoded.data);
        agent.send(message);
        return;
      }
      const parsed = ConsoleClientFrame.safeParse(safeJson(data.toString()));
      if (!parsed.success) return;
      if (parsed.data.type === 'resize') recorder.recordResize(parsed.data.cols, parsed.data.rows);
      if (parsed.data.type === 'detach') reason ??= 'detached';
      agent.send(JSON.stringify(parsed.data));
    });

    agent.on('message', (data, isBinary) => {
      if (isBinary) {
        const message = toBytes(data);
        const decoded = decodeConsoleData(message);
        if (!decoded || decoded.channel === ConsoleChannel.stdin) return;
        recorder.recordOutput(decoded.data);
        if (client.readyState === client.OPEN) client.send(message);
        if (!paused && client.bufferedAmount > CLIENT_BUFFER_LIMIT) {
          paused = true;
          agent.pause();
        }
        return;
      }
      const parsed = ConsoleServerFrame.safeParse(safeJson(data.toString()));
      if (!parsed.success) return;
      if (parsed.data.type === 'exited') {
        exitCode = parsed.data.exitCode;
        reason ??= 'exited';
      }
      if (parsed.data.type === 'error') reason ??= `error: ${parsed.data.message}`;
      if (client.readyState === client.OPEN) client.send(JSON.stringify(parsed.data));
    });

    let ended = false;
    const end = (who: 'client' | 'agent') => {
      if (ended) return;
      ended = true;
      clearInterval(drainCheck);
      clearInterval(keepalive);
      reason ??= who === 'client' ? 'client gone' : 'agent gone';
      client.close(1000, reason.slice(0, 100));
      agent.close(1000, reason.slice(0, 100));
      resolve({ reason, exitCode });
    };
    client.on('close', () => end('client'));
    agent.on('close', () => end('agent'));
    // Ended from outside (the token was revoked): the client is told why, the agent as on a detach.
    const onStop = () => {
      reason ??= 'token revoked';
      if (client.readyState === client.OPEN) client.send(JSON.stringify({ type: 'error', message: String(stop!.reason) }));
      end('client');
    };
    if (stop?.aborted) onStop();
    else stop?.addEventListener('abort', onStop, { once: true });
    client.on('error', () => client.terminate());
    agent.on('error', () => agent.terminate());
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
