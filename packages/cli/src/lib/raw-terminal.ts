/** Makes the cursor visible again: a program may have hidden it when its connection dropped. */
export const SHOW_CURSOR = '\x1b[?25h';

/** The signals after which the CLI must still give the user a working terminal back. */
export const RESTORING_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type RestoringSignal = (typeof RESTORING_SIGNALS)[number];

export interface TerminalStreams {
  stdin: {
    isTTY?: boolean;
    isRaw?: boolean;
    setRawMode?(mode: boolean): unknown;
    on?(event: 'data' | 'error', listener: () => void): unknown;
    off?(event: 'data' | 'error', listener: () => void): unknown;
    resume?(): unknown;
    pause?(): unknown;
  };
  stdout: { isTTY?: boolean; write(text: string): unknown };
}

/** The part of `process` the guard hooks into (a fake in tests). */
export interface ProcessHooks {
  on(event: 'exit' | RestoringSignal, listener: (...args: unknown[]) => void): unknown;
  off(event: 'exit' | RestoringSignal, listener: (...args: unknown[]) => void): unknown;
}

/**
 * The user's terminal while a console is connected: raw mode on stdin (every key, Ctrl-C
 * included, is a byte for the remote program), and a guaranteed way back — `restore` runs on
 * every way out: the normal end, an error, a dropped connection, SIGINT/SIGTERM/SIGHUP sent to
 * the CLI, and the process exiting for any other reason. Only SIGKILL escapes it.
 */
export class RawTerminal {
  private entered = false;
  private madeRaw = false;
  private readonly onExit = () => this.restore();
  private readonly onSignals = new Map<RestoringSignal, () => void>();

  constructor(
    private readonly streams: TerminalStreams = { stdin: process.stdin, stdout: process.stdout },
    private readonly proc: ProcessHooks = process,
  ) {}

  /** Whether the keyboard is a terminal that raw mode applies to. */
  get isTerminal(): boolean {
    return this.streams.stdin.isTTY === true && typeof this.streams.stdin.setRawMode === 'function';
  }

  /**
   * Switches to raw mode (when stdin is a terminal) and arms the restore hooks. `onSignal` is
   * called after the terminal was restored, to end the session its own way; the signal no
   * longer kills the process by default once a listener exists.
   */
  enter(onSignal: (signal: RestoringSignal) => void): void {
    if (this.entered) return;
    this.entered = true;
    this.proc.on('exit', this.onExit);
    for (const signal of RESTORING_SIGNALS) {
      const listener = () => {
        this.restore();
        onSignal(signal);
      };
      this.onSignals.set(signal, listener);
      this.proc.on(signal, listener);
    }
    if (this.isTerminal && this.streams.stdin.isRaw !== true) {
      this.streams.stdin.setRawMode!(true);
      this.madeRaw = true;
    }
  }

  /**
   * Reads and drops what the terminal still sends until it has been quiet for `quietMs` (at most
   * `maxMs`). Its answers to queries the remote program made just before the end (cursor
   * position, colours) would otherwise reach the user's shell as if typed.
   */
  async discardPendingInput(quietMs = 30, maxMs = 250): Promise<void> {
    const { stdin } = this.streams;
    if (!this.madeRaw || !stdin.on || !stdin.off) return;
    await new Promise<void>((resolve) => {
      let quiet: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(quiet);
        clearTimeout(cap);
        stdin.off!('data', drop);
        stdin.off!('error', done);
        stdin.pause?.();
        resolve();
      };
      const drop = () => {
        clearTimeout(quiet);
        quiet = setTimeout(done, quietMs);
      };
      const cap = setTimeout(done, maxMs);
      stdin.on!('data', drop);
      stdin.on!('error', done); // the terminal went away (EIO): nothing left to drain
      stdin.resume?.();
      drop();
    });
  }

  /** Puts the terminal back as it was; safe to call any number of times, from any path. */
  restore(): void {
    if (!this.entered) return;
    this.entered = false;
    this.proc.off('exit', this.onExit);
    for (const [signal, listener] of this.onSignals) this.proc.off(signal, listener);
    this.onSignals.clear();
    if (this.madeRaw) {
      this.madeRaw = false;
      try {
        this.streams.stdin.setRawMode!(false);
      } catch {
        // The terminal is gone (SIGHUP): nothing left to restore.
      }
    }
    if (this.streams.stdout.isTTY === true) {
      try {
        this.streams.stdout.write(SHOW_CURSOR);
      } catch {
        // Same: a closed terminal.
      }
    }
  }
}
