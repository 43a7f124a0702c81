import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import type { TerminalSize } from '@tapit/protocol';
import type { Terminal } from '../drivers/driver.js';
import { errorMessage, log } from '../log.js';
import { ClientInputs } from './client-inputs.js';
import { STREAM_BUFFER_LIMIT, type ConsoleStream } from './console-stream.js';
import { RingBuffer } from './ring-buffer.js';

/** Recent screen output replayed to whoever attaches. */
export const SCREEN_BYTES = 64 * 1024;
/** The screen file trails the live screen by at most this much (it survives `kill -9`). */
const PERSIST_MS = 250;

export interface ConsoleHubOptions {
  taskId: string;
  terminal: Terminal;
  /** Where the recent screen is kept across agent restarts. */
  screenFile: string;
  /** Output after the kept screen, before the terminal was attached (an agent restart). */
  backlog?: Buffer | null;
  graceSeconds: number;
  /** Since when nobody is attached (ISO), or null if that is unknown (counted from now). */
  idleSince: string | null;
  /** Persist the idle time, so the grace period survives an agent restart. */
  onIdleChange(idleSince: string | null): void;
  onGraceExpired(): void;
  /** A line for the task's log. */
  say(text: string): void;
}

/** Beside the screen file: where its end stands in all the console printed (see ConsoleHub.written). */
export function screenEndFile(screenFile: string): string {
  return `${screenFile}.end`;
}

/** When the kept screen was last written (null if none): a restarted agent's backlog starts there. */
export function screenSavedAt(screenFile: string): string | null {
  try {
    return statSync(screenFile).mtime.toISOString();
  } catch {
    return null;
  }
}

/**
 * The console of one interactive task: owns the task's TTY for its whole life, keeps its recent
 * screen, fans output out to every attached session and their input in. The TTY is read without
 * pause whatever the sessions do: a session that cannot keep up is let go (it can reattach and
 * get the screen replayed).
 */
export class ConsoleHub {
  private readonly screen = new RingBuffer(SCREEN_BYTES);
  private readonly sessions = new Set<ConsoleStream>();
  private idleSince: number | null;
  private graceTimer: NodeJS.Timeout | null = null;
  private persistTimer: NodeJS.Timeout | null = null;
  /** Set once the program ended: later attaches just hear how. */
  private exit: { exitCode: number | null } | null = null;
  private closed = false;
  /**
   * Bytes the console printed since it started (across agent restarts): the `offset` of the
   * `attached` frame is reckoned from it, so a client reconnecting skips what it already showed.
   */
  private written = 0;
  /** Keyboard bytes taken from each client, for its reconnects (attached.inputReceived). */
  private readonly inputs = new ClientInputs();

  constructor(private readonly options: ConsoleHubOptions) {
    try {
      this.screen.push(readFileSync(options.screenFile));
      this.written = this.screen.length;
      const end = Number(readFileSync(screenEndFile(options.screenFile), 'utf8'));
      if (Number.isSafeInteger(end) && end >= this.written) this.written = end;
    } catch {
      // no screen (or no end of it) kept yet
    }
    if (options.backlog?.length) {
      this.screen.push(options.backlog);
      this.written += options.backlog.length;
    }
    this.idleSince = options.idleSince ? Date.parse(options.idleSince) : Date.now();
    options.onIdleChange(new Date(this.idleSince).toISOString());
    this.armGrace();
    options.terminal.onOutput((chunk) => this.output(chunk));
  }

  get attached(): number {
    return this.sessions.size;
  }

  /** `client`: the id the session's client keeps across its reconnects, if it gave one. */
  attach(stream: ConsoleStream, size: TerminalSize, openedBy: string, client?: string): void {
    if (this.exit) return stream.end({ type: 'exited', exitCode: this.exit.exitCode });
    if (this.closed) return stream.end({ type: 'error', message: 'the agent is shutting down; attach again in a moment' });
    const inputReceived = client === undefined ? undefined : this.inputs.attached(client);
    // Replay then live, in one turn: no output can fall between them.
    const replay = this.screen.contents();
    stream.control({ type: 'attached', sessionId: stream.sessionId, replayed: replay.length, offset: this.written - replay.length, ...(inputReceived === undefined ? {} : { inputReceived }) });
    stream.data(1, replay);
    this.sessions.add(stream);
    this.setIdle(false);
    this.resize(size);
    this.options.say(`Console attached by ${openedBy}`);
    stream.on({
      stdin: (data) => {
        this.options.terminal.write(data);
        if (client !== undefined) this.inputs.took(client, data.length);
      },
      control: (frame) => {
        if (frame.type === 'resize') this.resize(frame);
        else if (frame.type === 'detach') stream.end();
        // stdin.close: a TTY has no end of input; ^D is a byte like any other.
      },
    });
    // A detach, a dropped link or a kicked slow session: the console runs on.
    stream.onClose(() => {
      if (!this.sessions.delete(stream)) return;
      if (this.sessions.size === 0) this.setIdle(true);
    });
  }

  /** The program ended: tell every session how, and close them. */
  exited(exitCode: number | null): void {
    this.exit = { exitCode };
    this.clearGrace();
    for (const stream of [...this.sessions]) stream.end({ type: 'exited', exitCode });
    this.sessions.clear();
  }

  /** Agent shutdown: sessions drop (like a detach); the program and its TTY stay for the next start. */
  close(message = 'the agent is restarting; attach again in a moment'): void {
    this.closed = true;
    this.clearGrace();
    this.persist();
    for (const stream of [...this.sessions]) stream.end({ type: 'error', message });
    this.sessions.clear();
    this.options.terminal.release();
  }

  private output(chunk: Buffer): void {
    this.screen.push(chunk);
    this.written += chunk.length;
    this.persistTimer ??= setTimeout(() => this.persist(), PERSIST_MS);
    for (const stream of this.sessions) {
      if (stream.bufferedAmount > STREAM_BUFFER_LIMIT) {
        log('console.slow-session', { task: this.options.taskId, session: stream.sessionId, buffered: stream.bufferedAmount });
        this.sessions.delete(stream);
        stream.end({ type: 'error', message: 'the console output could not keep up with this connection; attach again to continue' });
        if (this.sessions.size === 0) this.setIdle(true);
        continue;
      }
      stream.data(1, chunk);
    }
  }

  private resize(size: TerminalSize): void {
    this.options.terminal.resize(size).catch((error) => log('console.resize-failed', { task: this.options.taskId, error: errorMessage(error) }));
  }

  private persist(): void {
    if (this.persistTimer) clearTimeout(this.persistTimer);
    this.persistTimer = null;
    try {
      const tmp = `${this.options.screenFile}.tmp`;
      writeFileSync(tmp, this.screen.contents(), { mode: 0o600 });
      renameSync(tmp, this.options.screenFile);
      writeFileSync(screenEndFile(this.options.screenFile), String(this.written), { mode: 0o600 });
    } catch (error) {
      log('console.persist-failed', { task: this.options.taskId, error: errorMessage(error) });
    }
  }

  private setIdle(idle: boolean): void {
    if (this.exit || this.closed) return;
    this.idleSince = idle ? Date.now() : null;
    this.options.onIdleChange(this.idleSince === null ? null : new Date(this.idleSince).toISOString());
    this.armGrace();
  }

  private armGrace(): void {
    this.clearGrace();
    if (this.idleSince === null) return;
    const ms = this.idleSince + this.options.graceSeconds * 1000 - Date.now();
    this.graceTimer = setTimeout(() => {
      this.graceTimer = null;
      if (this.sessions.size === 0 && !this.exit && !this.closed) this.options.onGraceExpired();
    }, Math.max(0, Math.min(ms, 2 ** 31 - 1)));
    this.graceTimer.unref?.();
  }

  private clearGrace(): void {
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = null;
  }
}
