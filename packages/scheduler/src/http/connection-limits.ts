import { readFileSync } from 'node:fs';
import { STATUS_CODES, type Server, type ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { ErrorCode } from '@tapit/protocol';
import { addressKey } from './address-key.js';

export interface ConnectionLimits {
  /** Connections open at once, all clients together (TAPIT_MAX_CONNECTIONS). */
  maxConnections: number;
  /** Connections open at once from one address, or one IPv6 /64 (TAPIT_MAX_CONNECTIONS_PER_ADDRESS). */
  maxPerAddress: number;
  /** A request's header section must arrive within this, counted from its first byte or from the connection's start. */
  headersTimeoutMs: number;
  /** A whole request, body included, must arrive within this (its answer may take as long as it needs). */
  requestTimeoutMs: number;
  /** A kept-alive connection with no request in flight is closed after this. */
  keepAliveTimeoutMs: number;
}

/**
 * Node's own guards against slow and idle clients, as options of the HTTP server. None of them
 * touches a connection once it is upgraded (agents, consoles) or while an answer streams (log
 * follows): the request was whole before either started.
 */
export function serverOptions(limits: ConnectionLimits): ServerOptions {
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // Node checks the two timeouts on this interval: a fraction of the shorter keeps them close.
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
  };
}

/** How long a refused connection may take to read its answer before it is closed anyway. */
const REFUSED_LINGER_MS = 2000;
/** Refusals are logged once at once, then summed up on this interval. */
const LOG_INTERVAL_MS = 60_000;

type Bound = 'TAPIT_MAX_CONNECTIONS_PER_ADDRESS' | 'TAPIT_MAX_CONNECTIONS';

/**
 * Counts the open connections of an HTTP server, per address and in total, and refuses one past
 * either bound before Node parses a byte of it: an answer saying why (429 or 503), then closed.
 * Refusals are logged at once for the first, then summed up once a minute.
 */
export class ConnectionLimiter {
  private readonly perAddress = new Map<string, number>();
  private open = 0;
  private readonly refused = new Map<Bound, Map<string, number>>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly limits: ConnectionLimits,
    private readonly log: (line: string) => void,
  ) {}

  /** Puts the limiter in front of the server's own connection handling; call before it listens. */
  install(server: Server): void {
    server.keepAliveTimeout = this.limits.keepAliveTimeoutMs;
    const handlers = server.listeners('connection') as ((socket: Socket) => void)[];
    server.removeAllListeners('connection');
    server.on('connection', (socket: Socket) => {
      if (!this.admit(socket)) return;
      for (const handler of handlers) handler.call(server, socket);
    });
  }

  /** Current counts, for tests and diagnostics. */
  get openConnections(): number {
    return this.open;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.summarize();
  }

  private admit(socket: Socket): boolean {
    const key = addressKey(socket.remoteAddress);
    const mine = this.perAddress.get(key) ?? 0;
    if (mine >= this.limits.maxPerAddress) {
      this.refuse(socket, key, 'TAPIT_MAX_CONNECTIONS_PER_ADDRESS', 429, 'RATE_LIMITED', `too many connections from ${key}: at most ${this.limits.maxPerAddress} at once; close some and retry`);
      return false;
    }
    if (this.open >= this.limits.maxConnections) {
      this.refuse(socket, key, 'TAPIT_MAX_CONNECTIONS', 503, 'SERVER_BUSY', `the scheduler holds its maximum of ${this.limits.maxConnections} connections: retry shortly`);
      return false;
    }
    this.open++;
    this.perAddress.set(key, mine + 1);
    socket.once('close', () => {
      this.open--;
      const left = (this.perAddress.get(key) ?? 1) - 1;
      if (left > 0) this.perAddress.set(key, left);
      else this.perAddress.delete(key);
    });
    return true;
  }

  private refuse(socket: Socket, key: string, bound: Bound, status: number, code: ErrorCode, message: string): void {
    socket.on('error', () => socket.destroy());
    // Read and drop what the client sends, so closing does not reset the answer away.
    socket.resume();
    const body = JSON.stringify({ error: { code, message } });
    const retry = status === 429 ? 'Retry-After: 1\r\n' : '';
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${retry}Connection: close\r\n\r\n${body}`,
    );
    const linger = setTimeout(() => socket.destroy(), REFUSED_LINGER_MS);
    linger.unref();
    socket.once('close', () => clearTimeout(linger));
    this.complain(key, bound);
  }

  private complain(key: string, bound: Bound): void {
    let byAddress = this.refused.get(bound);
    const first = this.refused.size === 0 && !this.timer;
    if (!byAddress) this.refused.set(bound, (byAddress = new Map()));
    if (first) {
      const limit = bound === 'TAPIT_MAX_CONNECTIONS' ? this.limits.maxConnections : this.limits.maxPerAddress;
      this.log(`connection refused from ${key}: ${bound}=${limit} reached (further refusals are summed up every ${LOG_INTERVAL_MS / 1000} s)`);
    } else byAddress.set(key, (byAddress.get(key) ?? 0) + 1);
    if (!this.timer && !this.closed) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.summarize();
      }, LOG_INTERVAL_MS);
      this.timer.unref();
    }
  }

  private summarize(): void {
    const parts: string[] = [];
    for (const [bound, byAddress] of this.refused) {
      const total = [...byAddress.values()].reduce((a, b) => a + b, 0);
      if (total === 0) continue;
      const top = [...byAddress].sort((a, b) => b[1] - a[1])[0];
      parts.push(`${total} more over ${bound} from ${byAddress.size} ${byAddress.size === 1 ? 'address' : 'addresses'} (most from ${top[0]}: ${top[1]})`);
    }
    this.refused.clear();
    if (parts.length > 0) this.log(`connections refused in the last ${LOG_INTERVAL_MS / 1000} s: ${parts.join('; ')}`);
  }
}

/**
 * Warns when the process may open fewer files than TAPIT_MAX_CONNECTIONS needs (Linux only):
 * past the descriptor limit every request fails, which the bound is there to prevent.
 */
export function warnIfDescriptorsShort(limits: ConnectionLimits, log: (line: string) => void): void {
  let soft: number;
  try {
    const line = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (!line || line[1] === 'unlimited') return;
    soft = Number(line[1]);
  } catch {
    return;
  }
  // The database, agents' log spools and Node itself need descriptors besides the connections.
  const needed = limits.maxConnections + 256;
  if (soft < needed) {
    log(`TAPIT_MAX_CONNECTIONS=${limits.maxConnections} needs about ${needed} open files but this process may open ${soft}: raise the limit (ulimit -n, systemd LimitNOFILE=) or lower TAPIT_MAX_CONNECTIONS`);
  }
}
