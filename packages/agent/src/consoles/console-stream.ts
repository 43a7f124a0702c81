import WebSocket from 'ws';
import { ConsoleChannel, ConsoleClientFrame, decodeConsoleData, encodeConsoleData, type ConsoleServerFrame } from '@tapit/protocol';

/** Past this many unsent bytes a user's stream is too slow: its output is held back or it is let go. */
export const STREAM_BUFFER_LIMIT = 1024 * 1024;

interface StreamHandlers {
  stdin?: (data: Uint8Array) => void;
  control?: (frame: ConsoleClientFrame) => void;
}

/**
 * One dial-back websocket of a console or exec session (`/v1/agents/consoles/:id`): channel
 * bytes and control frames in, the same out. A bad frame ends only this session.
 */
export class ConsoleStream {
  private ended = false;
  private readonly closeListeners: (() => void)[] = [];
  private handlers: StreamHandlers | null = null;
  /** Input that came before the session was routed (an exec still starting): kept, in order. */
  private early: (() => void)[] = [];

  constructor(
    readonly ws: WebSocket,
    readonly sessionId: string,
    keepaliveMs = 15_000,
  ) {
    // A link that went silently dead (half-open) must not count as attached forever: ping, and
    // cut it when the previous ping went unanswered.
    let answered = true;
    ws.on('pong', () => (answered = true));
    const keepalive = setInterval(() => {
      if (!answered) return ws.terminate();
      answered = false;
      if (ws.readyState === WebSocket.OPEN) ws.ping();
    }, keepaliveMs);
    ws.once('close', () => clearInterval(keepalive));
    ws.on('message', (data, isBinary) => {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      if (isBinary) {
        const decoded = decodeConsoleData(bytes);
        if (decoded?.channel === ConsoleChannel.stdin) this.deliver(() => this.handlers?.stdin?.(decoded.data));
        return;
      }
      let json: unknown;
      try {
        json = JSON.parse(bytes.toString('utf8'));
      } catch {
        json = undefined;
      }
      const parsed = ConsoleClientFrame.safeParse(json);
      if (!parsed.success) return this.end({ type: 'error', message: 'bad console frame' });
      this.deliver(() => this.handlers?.control?.(parsed.data));
    });
    ws.on('close', () => {
      this.ended = true;
      for (const listener of this.closeListeners.splice(0)) listener();
    });
    ws.on('error', () => ws.terminate());
  }

  /** Where the user's input goes; set once the session is routed. */
  on(handlers: StreamHandlers): void {
    this.handlers = handlers;
    for (const input of this.early.splice(0)) input();
  }

  private deliver(input: () => void): void {
    if (this.handlers) input();
    else if (this.early.length < 10_000) this.early.push(input);
  }

  onClose(listener: () => void): void {
    if (this.ended || this.ws.readyState === WebSocket.CLOSED) listener();
    else this.closeListeners.push(listener);
  }

  get open(): boolean {
    return !this.ended && this.ws.readyState === WebSocket.OPEN;
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  control(frame: ConsoleServerFrame): void {
    if (this.open) this.ws.send(JSON.stringify(frame));
  }

  data(channel: 1 | 2, bytes: Uint8Array): void {
    if (this.open && bytes.length > 0) this.ws.send(encodeConsoleData(channel, bytes));
  }

  /** Sends a last frame and closes; a peer that never answers the close is cut after 5 s. */
  end(last?: ConsoleServerFrame): void {
    if (this.ended) return;
    if (last) this.control(last);
    this.ended = true;
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(1000);
    setTimeout(() => this.ws.terminate(), 5000).unref();
    for (const listener of this.closeListeners.splice(0)) listener();
  }
}
