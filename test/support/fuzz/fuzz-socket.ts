import WebSocket from 'ws';

/*
 * A websocket client for fuzzing: it sends whatever it is given (text, bytes, broken JSON) and
 * records what comes back and how the connection ended, without judging either.
 */

/**
 * An upgrade the server answered with an HTTP status instead of a websocket; status 0 when it
 * closed the connection while the request was still being written (EPIPE, ECONNRESET), as Node's
 * server does with a request whose headers pass its limit: the client may fail writing before
 * it reads the 431.
 */
export interface RefusedUpgrade {
  status: number;
  body: string;
}

/** Node's limit on a request's headers (--max-http-header-size); a longer request may be cut. */
export const MAX_HEADER_BYTES = 16 * 1024;

export class FuzzSocket {
  /** Text messages received, in order. */
  readonly texts: string[] = [];
  /** Binary messages received, in order. */
  readonly binaries: Buffer[] = [];
  /** How the connection ended (1005: no code given, 1006: cut without a close frame). */
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data, isBinary) => {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      if (isBinary) this.binaries.push(bytes);
      else this.texts.push(bytes.toString('utf8'));
      this.wake();
    });
    // A reset while sending is one of the ways a connection ends; `closed` tells how.
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        this.wake();
      }),
    );
  }

  /** Opens `url` (ws://…) with these headers; a refused upgrade resolves to its status and body. */
  static open(url: string, headers: Record<string, string>): Promise<FuzzSocket | RefusedUpgrade> {
    const ws = new WebSocket(url, { headers, handshakeTimeout: 30_000, maxPayload: 64 * 1024 * 1024 });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new FuzzSocket(ws)));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      ws.once('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'EPIPE' || error.code === 'ECONNRESET') resolve({ status: 0, body: `connection closed while sending the request (${error.code})` });
        else reject(error);
      });
    });
  }

  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  /** Sends and waits until the bytes are handed to the system (or the connection is gone). */
  send(data: string | Buffer, binary = typeof data !== 'string'): Promise<void> {
    if (!this.isOpen) return Promise.resolve();
    return new Promise((resolve) => this.socket.send(data, { binary }, () => resolve()));
  }

  /** The JSON text messages received, parsed (others skipped). */
  json(): Record<string, unknown>[] {
    return this.texts.flatMap((t) => {
      try {
        const value: unknown = JSON.parse(t);
        return value !== null && typeof value === 'object' ? [value as Record<string, unknown>] : [];
      } catch {
        return [];
      }
    });
  }

  /** Waits until `done()` holds, the connection closes, or `timeoutMs` passes; returns `done()`. */
  async until(done: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!done() && this.socket.readyState !== WebSocket.CLOSED && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return done();
  }

  /** Closes from this side and waits for the end (cut after a second). */
  async close(): Promise<{ code: number; reason: string }> {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) this.socket.close(1000);
    const timer = setTimeout(() => this.socket.terminate(), 1000);
    const end = await this.closed;
    clearTimeout(timer);
    return end;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/** Whether `value` is a refused upgrade rather than an open socket. */
export const isRefused = (value: FuzzSocket | RefusedUpgrade): value is RefusedUpgrade => !(value instanceof FuzzSocket);
