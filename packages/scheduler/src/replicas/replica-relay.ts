import type { IncomingMessage } from 'node:http';
import { WebSocket, type RawData } from 'ws';
import { DomainError } from '../domain/domain-error.js';
import { AGENT_DIAL_BACK_MS } from './dial-back-waits.js';

const MAX_MESSAGE_BYTES = 1024 * 1024;
/** Past this much unsent on one side, stop reading the other until it drains. */
const BUFFER_LIMIT = 4 * 1024 * 1024;
const KEEPALIVE_MS = 15_000;

/**
 * Opens `path` on the replica at `url` with this replica's relay credential: the holding replica
 * answers the upgrade once its agent dialled back, so the socket is the agent's stream from its
 * first message. The socket comes paused: resume it once listening. A refusal throws its
 * message (the holding replica's words), as a CONFLICT.
 */
export function dialReplica(url: string, path: string, bearer: string, what: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}${path}`, {
      headers: { authorization: `Bearer ${bearer}` },
      maxPayload: MAX_MESSAGE_BYTES,
      // The holding replica answers after its agent dialled back: give it that long, and a little.
      handshakeTimeout: AGENT_DIAL_BACK_MS + 5_000,
      perMessageDeflate: false,
    });
    ws.once('open', () => {
      ws.removeAllListeners('error');
      // The agent's first frames may come with the upgrade's answer: held until the caller
      // listens and resumes, so none is emitted to nobody.
      ws.pause();
      resolve(ws);
    });
    ws.once('unexpected-response', (_request, response: IncomingMessage) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk.slice(0, 4096)));
      response.on('end', () => {
        let message = `the replica holding its agent (${url}) refused the ${what} relay with HTTP ${response.statusCode}`;
        try {
          const parsed = JSON.parse(body) as { error?: { message?: unknown } };
          if (typeof parsed.error?.message === 'string') message = parsed.error.message;
        } catch {
          // not the API's error body: keep the status
        }
        reject(new DomainError('CONFLICT', message));
      });
      response.on('error', () => reject(new DomainError('CONFLICT', `the replica holding its agent (${url}) refused the ${what} relay`)));
    });
    ws.once('error', (error) => reject(new DomainError('CONFLICT', `the replica holding its agent cannot be reached at ${url} (TAPIT_ADVERTISE_URL): ${error.message}`)));
  });
}

/**
 * Forwards every message between two websockets as it comes (text stays text, binary binary),
 * with backpressure each way; when one closes, so does the other, with its code where one can be
 * sent on.
 */
export function pipeWebSockets(a: WebSocket, b: WebSocket): void {
  // A side that went silent (a host gone, not closed) is let go, and the other with it.
  const alive = new Map<WebSocket, boolean>([
    [a, true],
    [b, true],
  ]);
  const keepalive = setInterval(() => {
    for (const [ws, answered] of alive) {
      if (!answered) return ws.terminate();
      alive.set(ws, false);
      if (ws.readyState === ws.OPEN) ws.ping();
    }
  }, KEEPALIVE_MS);
  for (const ws of [a, b]) {
    ws.on('pong', () => alive.set(ws, true));
    ws.once('close', () => clearInterval(keepalive));
  }
  const forward = (from: WebSocket, to: WebSocket) => {
    let paused = false;
    const drain = setInterval(() => {
      if (paused && to.bufferedAmount < BUFFER_LIMIT / 2) {
        paused = false;
        from.resume();
      }
    }, 50);
    from.on('message', (data: RawData, isBinary) => {
      if (to.readyState !== to.OPEN) return;
      to.send(data as Buffer, { binary: isBinary });
      if (!paused && to.bufferedAmount > BUFFER_LIMIT) {
        paused = true;
        from.pause();
      }
    });
    from.once('close', (code, reason) => {
      clearInterval(drain);
      // 1005 (none given) and 1006 (cut) are never sent on the wire.
      const sendable = code >= 1000 && code < 5000 && code !== 1004 && code !== 1005 && code !== 1006 && code !== 1015;
      if (to.readyState === to.OPEN) to.close(sendable ? code : 1011, reason.toString().slice(0, 100));
    });
    from.on('error', () => from.terminate());
  };
  forward(a, b);
  forward(b, a);
  a.resume();
  b.resume();
}
