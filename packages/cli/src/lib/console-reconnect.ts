import type WebSocket from 'ws';
import { ApiError } from './api-client.js';
import type { ConsoleEnd } from './console-session.js';
import { UsageError } from './errors.js';
import type { RestoringSignal } from './raw-terminal.js';

/** How long a dropped console is tried again unless TAPIT_RECONNECT_SECONDS says otherwise. */
export const DEFAULT_RECONNECT_SECONDS = 60;
/** The longest wait between two tries. */
const MAX_BACKOFF_MS = 3000;

/** TAPIT_RECONNECT_SECONDS: 0 never reconnects; a bad value is a usage error naming it. */
export function reconnectSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.TAPIT_RECONNECT_SECONDS;
  if (raw === undefined || raw === '') return DEFAULT_RECONNECT_SECONDS;
  if (!/^\d+$/.test(raw) || Number(raw) > 3600) throw new UsageError('TAPIT_RECONNECT_SECONDS: must be a whole number of seconds from 0 (never reconnect) to 3600');
  return Number(raw);
}

export interface ReconnectOptions {
  /** Give up after this long. */
  forMs: number;
  /** Why the link dropped, for the message if it stays down. */
  reason: string;
  /** Opens the console again (at the terminal's size of now). */
  open(): Promise<WebSocket>;
  /** How the console ended when its task is no longer RUNNING (undefined while it runs, or when that cannot be told). */
  taskEnd(): Promise<ConsoleEnd | undefined>;
  status: StatusLine;
  /** Aborted, with the signal as its reason, when the CLI is told to go. */
  stop: AbortSignal;
}

/**
 * Tries to open the console again, with a growing pause between tries (0.25 s doubling up to 3 s),
 * until it opens, the time is up, the task ended, or the scheduler refuses for good (the token
 * revoked, the task gone). A replica that is down or an agent that is reconnecting is tried again.
 */
export async function reconnectConsole(options: ReconnectOptions): Promise<{ socket: WebSocket } | { end: ConsoleEnd }> {
  const started = Date.now();
  let lastError = options.reason;
  options.status.show(0);
  const tick = setInterval(() => options.status.show(Math.round((Date.now() - started) / 1000)), 1000);
  try {
    for (let attempt = 0; ; attempt++) {
      const wait = Math.min(MAX_BACKOFF_MS, 250 * 2 ** attempt);
      if (Date.now() + wait - started > options.forMs) {
        return { end: { type: 'dropped', reason: `${options.reason}; gave up reconnecting after ${Math.round(options.forMs / 1000)} s: ${lastError}` } };
      }
      if (!(await pause(wait, options.stop))) return { end: { type: 'signal', signal: options.stop.reason as RestoringSignal } };
      try {
        const socket = await options.open();
        if (!options.stop.aborted) return { socket };
        socket.terminate();
        return { end: { type: 'signal', signal: options.stop.reason as RestoringSignal } };
      } catch (error) {
        lastError = error instanceof Error ? error.message : String(error);
        if (!(error instanceof ApiError) || error.status === null) continue;
        if (error.status === 409 || error.status === 404) {
          const end = await options.taskEnd().catch(() => undefined);
          if (end) return { end };
        }
        // Refused for good: no longer allowed, or nothing there any more.
        if ([400, 401, 403, 404].includes(error.status)) return { end: { type: 'error', message: error.message } };
      }
    }
  } finally {
    clearInterval(tick);
    options.status.clear();
  }
}

/** Resolves true after `ms`, or false at once when `stop` aborts. */
function pause(ms: number, stop: AbortSignal): Promise<boolean> {
  if (stop.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      stop.removeEventListener('abort', onStop);
      resolve(true);
    }, ms);
    const onStop = () => {
      clearTimeout(timer);
      resolve(false);
    };
    stop.addEventListener('abort', onStop, { once: true });
  });
}

/**
 * The one line that says a console is reconnecting, on stderr. On a terminal it sits on the row
 * under the cursor and goes away when the console is back, the cursor where it was; elsewhere
 * it is two plain lines.
 */
export class StatusLine {
  private shown = false;

  constructor(private readonly stderr: { isTTY?: boolean; write(text: string): unknown }) {}

  show(seconds: number): void {
    const text = `[tapit] connection lost, reconnecting (${seconds}s)…`;
    if (!this.stderr.isTTY) {
      if (!this.shown) this.write(`${text}\n`);
    } else if (!this.shown) {
      // Make room below without moving off the line (index down, then back up), keep the
      // cursor, and write on the row below it.
      this.write(`\x1bD\x1bM\x1b7\x1bD\r${text}\x1b[K`);
    } else {
      this.write(`\r${text}\x1b[K`);
    }
    this.shown = true;
  }

  clear(): void {
    if (!this.shown) return;
    this.shown = false;
    this.write(this.stderr.isTTY ? '\r\x1b[2K\x1b8' : '[tapit] reconnected\n');
  }

  private write(text: string): void {
    try {
      this.stderr.write(text);
    } catch {
      // the terminal is gone
    }
  }
}
