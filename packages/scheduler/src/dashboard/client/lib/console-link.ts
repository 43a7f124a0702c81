import type { Terminal } from '@xterm/xterm';
import { DetachKeys } from './detach-keys.js';

/*
 * One console or exec session between an xterm.js terminal and the dashboard's console socket,
 * in the CLI's frames (packages/protocol/src/pty/frames.ts, written out here so the page does
 * not carry zod): binary messages whose first byte is the channel (0 stdin, 1 stdout,
 * 2 stderr), JSON text messages for control (`resize`, `detach` out; `attached`, `exited`,
 * `error` in).
 */

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
/** Input goes in messages of at most this many bytes: a large paste stays within a dashboard socket's frame limit. */
const INPUT_CHUNK_BYTES = 16 * 1024;
/** How long a lone Ctrl-P waits for Ctrl-Q before it goes on as a key (the CLI's wait). */
const DETACH_HOLD_MS = 500;

/** How a session ended. */
export type LinkEnd =
  | { type: 'exited'; exitCode: number | null }
  | { type: 'detached' }
  /** `status`: a refused open's HTTP status (the close code less 4000). */
  | { type: 'error'; message: string; status?: number }
  /** The connection went without an exit or a detach: the console lives on on the agent. */
  | { type: 'dropped'; reason: string };

export interface LinkOptions {
  /** The socket's path: `/tasks/ID/console/socket` or `/tasks/ID/exec/socket`. */
  path: string;
  /** exec: the command, as an argument vector. */
  command?: string[];
  /**
   * Reattaching in the same terminal: where what it shows ends in all the console printed (the
   * last session's `shown`), so the replay adds only what was missed while detached.
   */
  shownUpTo?: number;
  /** Watch the keys for Ctrl-P Ctrl-Q (an attach: an exec's process would end with its link anyway). */
  detachKeys: boolean;
}

export class ConsoleLink {
  private readonly socket: WebSocket;
  private readonly detector = new DetachKeys();
  private readonly encoder = new TextEncoder();
  private readonly disposers: { dispose(): void }[] = [];
  private holdTimer: number | undefined;
  private end: LinkEnd | undefined;
  private refusal: string | undefined;
  /** Where the next stdout byte stands in all the console printed, once the agent said (attach). */
  private position: number | undefined;
  /** Replayed bytes still to drop: the terminal shows them already. */
  private skip = 0;
  readonly ended: Promise<LinkEnd>;
  private settle!: (end: LinkEnd) => void;

  constructor(
    private readonly terminal: Terminal,
    private readonly options: LinkOptions,
    private readonly onAttached: () => void = () => {},
  ) {
    this.ended = new Promise((resolve) => (this.settle = resolve));
    const query = new URLSearchParams({ cols: String(terminal.cols), rows: String(terminal.rows) });
    if (options.command) {
      query.set('command', JSON.stringify(options.command));
      query.set('tty', '1');
    }
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    this.socket = new WebSocket(`${scheme}//${location.host}${options.path}?${query}`);
    this.socket.binaryType = 'arraybuffer';
    this.socket.onmessage = (event) => this.onMessage(event.data);
    this.socket.onclose = (event) => this.onClose(event);
    this.disposers.push(
      terminal.onData((data) => this.onInput(data)),
      // Mouse reports in the legacy encoding: bytes, not UTF-8 text.
      terminal.onBinary((data) => this.sendInput(Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff))),
      terminal.onResize(({ cols, rows }) => this.send({ type: 'resize', cols, rows })),
    );
  }

  /** Where what this session showed ends in all the console printed; undefined when unknown. */
  get shown(): number | undefined {
    return this.position;
  }

  /** Leaves the console running, as Ctrl-P Ctrl-Q does. */
  detach(): void {
    if (this.end) return;
    this.send({ type: 'detach' });
    this.finish({ type: 'detached' });
  }

  private onMessage(data: unknown): void {
    if (this.end) return;
    if (data instanceof ArrayBuffer) {
      const message = new Uint8Array(data);
      const channel = message[0];
      if (channel !== STDOUT && channel !== STDERR) return;
      let bytes = message.subarray(1);
      if (this.position !== undefined) this.position += bytes.length;
      const dropped = Math.min(this.skip, bytes.length);
      this.skip -= dropped;
      bytes = bytes.subarray(dropped);
      if (bytes.length > 0) this.terminal.write(bytes);
      return;
    }
    let frame: { type?: string; replayed?: number; offset?: number; exitCode?: number | null; message?: string };
    try {
      frame = JSON.parse(String(data));
    } catch {
      return;
    }
    if (frame.type === 'attached') {
      this.placeReplay(frame.replayed ?? 0, frame.offset);
      this.onAttached();
    } else if (frame.type === 'exited') this.finish({ type: 'exited', exitCode: frame.exitCode ?? null });
    // A refused open comes as this frame then a close with 4000 + its status; a broken session as
    // this frame then a close: the close ends it.
    else if (frame.type === 'error') this.refusal = frame.message ?? 'the session was refused';
  }

  /** As the CLI's reconnect: what of the replay this terminal already shows is skipped. */
  private placeReplay(replayed: number, offset: number | undefined): void {
    this.position = offset;
    const { shownUpTo } = this.options;
    if (shownUpTo === undefined) return;
    this.skip = offset === undefined ? replayed : Math.max(0, Math.min(replayed, shownUpTo - offset));
  }

  private onInput(data: string): void {
    if (this.end) return;
    if (!this.options.detachKeys) return this.sendInput(this.encoder.encode(data));
    window.clearTimeout(this.holdTimer);
    const { forward, detach } = this.detector.scan(data);
    this.sendInput(this.encoder.encode(forward));
    if (detach) return this.detach();
    if (this.detector.holding) this.holdTimer = window.setTimeout(() => this.sendInput(this.encoder.encode(this.detector.flush())), DETACH_HOLD_MS);
  }

  private sendInput(bytes: Uint8Array): void {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    for (let at = 0; at < bytes.length; at += INPUT_CHUNK_BYTES) {
      const chunk = bytes.subarray(at, at + INPUT_CHUNK_BYTES);
      const message = new Uint8Array(chunk.length + 1);
      message[0] = STDIN;
      message.set(chunk, 1);
      this.socket.send(message);
    }
  }

  private send(frame: { type: 'resize'; cols: number; rows: number } | { type: 'detach' }): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(frame));
  }

  private onClose(event: CloseEvent): void {
    if (this.end) return;
    const status = event.code >= 4000 && event.code < 5000 ? event.code - 4000 : undefined;
    const reason = this.refusal ?? (event.reason || (event.code === 1006 ? 'connection lost' : `closed with code ${event.code}`));
    if (this.refusal !== undefined || status !== undefined) this.finish({ type: 'error', message: reason, ...(status === undefined ? {} : { status }) });
    else this.finish({ type: 'dropped', reason });
  }

  /** Records how it ended (first one wins), stops listening to the terminal and closes the socket. */
  private finish(end: LinkEnd): void {
    if (this.end) return;
    this.end = end;
    window.clearTimeout(this.holdTimer);
    for (const disposer of this.disposers) disposer.dispose();
    // Queued frames (a detach) go out before the close frame.
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) this.socket.close(1000, end.type);
    this.settle(end);
  }
}
