import { ConsoleChannel, ConsoleServerFrame, decodeConsoleData, encodeConsoleData, type ConsoleClientFrame, type TerminalSize } from '@tapit/protocol';
import type WebSocket from 'ws';
import { DetachDetector } from './detach-keys.js';
import type { InputLedger } from './input-ledger.js';
import type { RestoringSignal } from './raw-terminal.js';

/** How a session ended, for the command to report and turn into an exit code. */
export type ConsoleEnd =
  | { type: 'exited'; exitCode: number | null }
  | { type: 'detached' }
  | { type: 'error'; message: string }
  /** The connection went away without an exit or a detach: the console lives on on the agent. */
  | { type: 'dropped'; reason: string }
  | { type: 'signal'; signal: RestoringSignal };

export interface ConsoleIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** A terminal whose size the remote one follows (process.stdout on a TTY). */
export interface ResizableOutput {
  columns?: number;
  rows?: number;
  on(event: 'resize', listener: () => void): unknown;
  off(event: 'resize', listener: () => void): unknown;
}

export interface ConsoleSessionOptions {
  /** Watch the keyboard for Ctrl-P Ctrl-Q (a TTY session on a terminal). */
  detachKeys: boolean;
  /** Send `stdin.close` when stdin ends (pipes: `echo x | tapit task:attach ID -- cat`). */
  closeStdin: boolean;
  /** Send `resize` when this terminal is resized. */
  resizeFrom?: ResizableOutput;
  /** How long a lone Ctrl-P waits for Ctrl-Q before it is sent on as a key. */
  detachHoldMs?: number;
  /** With nothing at all from the scheduler (it pings every 15 s) for this long, the connection is dead. */
  silenceLimitMs?: number;
  /** How long to wait for the close handshake after leaving, so a `detach` frame is really sent. */
  closeWaitMs?: number;
  /**
   * Reconnecting: where the screen shown so far ends in all the console printed (an earlier
   * session's `shown`). The replay is shown from there on, so nothing appears twice; a replay
   * that cannot be placed (an older agent) is not shown at all.
   */
  shownUpTo?: number;
  /** The input sent so far by this CLI's earlier sessions and this one (attach: see InputLedger). */
  ledger?: InputLedger;
  /**
   * A reconnect: keys typed meanwhile wait for `attached`, so what the console says it did not
   * take from the last link (`inputReceived`) is sent first, and in order.
   */
  resuming?: boolean;
}

/**
 * Connects the local streams to a console websocket: keyboard bytes go out as channel 0 the
 * moment they are read, channels 1 and 2 are written to stdout and stderr as they come (no
 * batching either way), and control frames end the session. Resolves once, with how it ended.
 */
export class ConsoleSession {
  private readonly detector = new DetachDetector();
  private holdTimer: NodeJS.Timeout | undefined;
  private silenceTimer: NodeJS.Timeout | undefined;
  private end: ConsoleEnd | undefined;
  private settle: ((end: ConsoleEnd) => void) | undefined;
  private closeReason = '';
  /** Where the next stdout byte stands in all the console printed, once the agent said (attach). */
  private position: number | undefined;
  /** Replayed bytes still to drop: shown before the reconnect. */
  private skip = 0;
  /**
   * A resuming session before its `attached`: keys typed go to the ledger only, and are sent with
   * what the last link lost once the console says what it took.
   */
  private holding: boolean;
  /** Where the ledger stood when this session began: a console that knows no client gets what came after. */
  private readonly resumeFrom: number;
  private readonly options: Required<Omit<ConsoleSessionOptions, 'resizeFrom' | 'shownUpTo' | 'ledger'>> & Pick<ConsoleSessionOptions, 'resizeFrom' | 'shownUpTo' | 'ledger'>;
  private readonly done: Promise<ConsoleEnd>;

  constructor(
    private readonly socket: WebSocket,
    private readonly io: ConsoleIo,
    options: ConsoleSessionOptions,
  ) {
    this.options = { detachHoldMs: 500, silenceLimitMs: 45_000, closeWaitMs: 1000, resuming: false, ...options };
    this.holding = this.options.resuming && this.options.ledger !== undefined;
    this.resumeFrom = this.options.ledger?.sent ?? 0;
    this.done = new Promise((resolve) => (this.settle = resolve));
  }

  /** Starts relaying; resolves when the session is over and the socket closed (or given up on). */
  run(): Promise<ConsoleEnd> {
    const { socket, io } = this;
    socket.on('message', this.onMessage);
    socket.on('ping', this.onAlive);
    socket.on('close', this.onClose);
    socket.on('error', this.onError);
    io.stdin.on('data', this.onInput);
    // A session before this one (a reconnect) paused it: a 'data' listener alone would not resume.
    io.stdin.resume();
    io.stdin.on('end', this.onInputEnd);
    io.stdin.on('error', this.onInputEnd);
    this.options.resizeFrom?.on('resize', this.onResize);
    this.onAlive();
    socket.resume(); // openConsoleSocket hands it over paused
    return this.done;
  }

  /** Where what this session showed ends in all the console printed; undefined when unknown. */
  get shown(): number | undefined {
    return this.position;
  }

  /** The CLI was told to go (a signal): leave the console running, as a detach does. */
  leave(signal: RestoringSignal): void {
    this.send({ type: 'detach' });
    this.finish({ type: 'signal', signal });
  }

  private readonly onMessage = (data: WebSocket.RawData, isBinary: boolean) => {
    this.onAlive();
    if (this.end) return;
    if (isBinary) {
      const decoded = decodeConsoleData(toBytes(data));
      if (!decoded || decoded.channel === ConsoleChannel.stdin) return;
      const target = decoded.channel === ConsoleChannel.stdout ? this.io.stdout : this.io.stderr;
      let bytes = decoded.data;
      if (decoded.channel === ConsoleChannel.stdout) {
        if (this.position !== undefined) this.position += bytes.length;
        const dropped = Math.min(this.skip, bytes.length);
        this.skip -= dropped;
        bytes = bytes.subarray(dropped);
        if (bytes.length === 0) return;
      }
      // A terminal slower than the program: stop reading the socket until it catches up, so
      // the scheduler (which pauses the agent in turn) holds the output, not our memory.
      if (!target.write(bytes)) {
        this.socket.pause();
        target.once('drain', () => this.socket.resume());
      }
      return;
    }
    const frame = ConsoleServerFrame.safeParse(safeJson(data.toString()));
    if (!frame.success) return; // a newer scheduler's frame this CLI does not know: not fatal
    if (frame.data.type === 'attached') {
      this.placeReplay(frame.data.replayed, frame.data.offset);
      this.resumeInput(frame.data.inputReceived);
    }
    else if (frame.data.type === 'exited') this.finish({ type: 'exited', exitCode: frame.data.exitCode });
    else if (frame.data.type === 'error') this.finish({ type: 'error', message: frame.data.message });
  };

  /** The replay that opens a session: what of it was shown before a reconnect is skipped. */
  private placeReplay(replayed: number, offset: number | undefined): void {
    this.position = offset;
    const { shownUpTo } = this.options;
    if (shownUpTo === undefined) return;
    this.skip = offset === undefined ? replayed : Math.max(0, Math.min(replayed, shownUpTo - offset));
  }

  /**
   * A resuming session is attached: what the console did not take (the last link's keys in
   * flight, then those typed meanwhile), in order; from a console that knows no client (an agent
   * restart), only what was typed meanwhile.
   */
  private resumeInput(inputReceived: number | undefined): void {
    if (!this.holding) return;
    this.holding = false;
    this.write(this.options.ledger!.after(inputReceived ?? this.resumeFrom));
  }

  private readonly onInput = (chunk: Buffer | string) => {
    if (this.end) return;
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (!this.options.detachKeys) return this.sendInput(bytes);
    clearTimeout(this.holdTimer);
    const { forward, detach } = this.detector.scan(bytes);
    this.sendInput(forward);
    if (detach) {
      this.send({ type: 'detach' });
      return this.finish({ type: 'detached' });
    }
    if (this.detector.holding) {
      this.holdTimer = setTimeout(() => this.sendInput(this.detector.flush()), this.options.detachHoldMs);
    }
  };

  private readonly onInputEnd = () => {
    if (this.end) return;
    if (this.detector.holding) this.sendInput(this.detector.flush());
    if (this.options.closeStdin) this.send({ type: 'stdin.close' });
  };

  private readonly onResize = () => {
    const size = sizeOf(this.options.resizeFrom);
    if (size) this.send({ type: 'resize', ...size });
  };

  private readonly onAlive = () => {
    clearTimeout(this.silenceTimer);
    if (this.end) return;
    this.silenceTimer = setTimeout(() => {
      this.closeReason = `no answer from the scheduler for ${Math.round(this.options.silenceLimitMs / 1000)} s`;
      this.socket.terminate();
    }, this.options.silenceLimitMs);
  };

  private readonly onError = (error: Error) => {
    this.closeReason ||= error.message;
  };

  private readonly onClose = (code: number, reason: Buffer) => {
    if (!this.end) {
      const why = this.closeReason || reason.toString() || (code === 1006 ? 'connection lost' : `closed with code ${code}`);
      this.finish({ type: 'dropped', reason: why });
    }
    this.cleanUp();
  };

  private sendInput(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    // Recorded even when the link just broke (or is not attached yet): a resuming session sends
    // again what the console did not take.
    this.options.ledger?.record(bytes);
    if (!this.holding) this.write(bytes);
  }

  private write(bytes: Uint8Array): void {
    if (bytes.length > 0 && this.socket.readyState === this.socket.OPEN) this.socket.send(encodeConsoleData(ConsoleChannel.stdin, bytes));
  }

  private send(frame: ConsoleClientFrame): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(JSON.stringify(frame));
  }

  /** Records how it ended (first one wins), stops reading, closes the socket and resolves. */
  private finish(end: ConsoleEnd): void {
    if (this.end) return;
    this.end = end;
    const { io } = this;
    io.stdin.off('data', this.onInput);
    io.stdin.off('end', this.onInputEnd);
    io.stdin.off('error', this.onInputEnd);
    io.stdin.pause();
    this.options.resizeFrom?.off('resize', this.onResize);
    clearTimeout(this.holdTimer);
    clearTimeout(this.silenceTimer);
    if (this.socket.readyState === this.socket.CLOSED) return this.settle!(end);
    // Queued frames (a detach) go out before the close frame; wait for the handshake, briefly.
    const giveUp = setTimeout(() => {
      this.socket.terminate();
      this.settle!(end);
    }, this.options.closeWaitMs);
    this.socket.once('close', () => {
      clearTimeout(giveUp);
      this.settle!(end);
    });
    this.socket.close(1000, end.type === 'exited' ? 'exited' : end.type === 'error' ? 'error' : 'detached');
  }

  private cleanUp(): void {
    this.socket.off('message', this.onMessage);
    this.socket.off('ping', this.onAlive);
    clearTimeout(this.silenceTimer);
  }
}

/** The size of a terminal, when it knows it. */
export function sizeOf(terminal: { columns?: number; rows?: number } | undefined): TerminalSize | undefined {
  const cols = terminal?.columns;
  const rows = terminal?.rows;
  if (!cols || !rows) return undefined;
  return { cols: Math.min(cols, 1000), rows: Math.min(rows, 1000) };
}

function toBytes(data: WebSocket.RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
