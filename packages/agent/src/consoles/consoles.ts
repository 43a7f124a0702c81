import WebSocket from 'ws';
import type { ConsoleOpen } from '@tapit/protocol';
import { errorMessage, log } from '../log.js';
import type { TaskRunner } from '../tasks/runner.js';
import { ConsoleStream } from './console-stream.js';
import { serveExec } from './exec-session.js';

/** The scheduler gives up on a dial-back after 15 s. */
const DIAL_TIMEOUT_MS = 10_000;

export interface ConsolesOptions {
  runner: TaskRunner;
  /** The dial-back URL of a session. */
  urlFor(sessionId: string): string;
  token: string;
  /** Certificate authorities for a wss:// URL, as the control connection's. */
  ca?: string[];
  agentName: string;
  /** How often a session's link is pinged; one unanswered ping ends the session (a detach). */
  keepaliveMs: number;
}

/**
 * Answers `console.open`: dials back a websocket of its own for the session (so a busy console
 * never shares the control link), then hands it to the task's console (attach) or runs an exec.
 * Whatever goes wrong is said on that stream as an `error` frame.
 */
export class Consoles {
  constructor(private readonly options: ConsolesOptions) {}

  open(frame: ConsoleOpen): void {
    log('console.open', { session: frame.sessionId, task: frame.taskId, mode: frame.mode, tty: frame.tty, openedBy: frame.openedBy });
    const ws = new WebSocket(this.options.urlFor(frame.sessionId), {
      headers: { Authorization: `Bearer ${this.options.token}` },
      handshakeTimeout: DIAL_TIMEOUT_MS,
      maxPayload: 1024 * 1024,
      ...(this.options.ca ? { ca: this.options.ca } : {}),
    });
    ws.once('open', () => this.serve(new ConsoleStream(ws, frame.sessionId, this.options.keepaliveMs), frame));
    ws.on('unexpected-response', (_req, res) => {
      log('console.dial-refused', { session: frame.sessionId, status: res.statusCode });
      ws.terminate();
    });
    ws.on('error', (error) => log('console.dial-failed', { session: frame.sessionId, error: errorMessage(error) }));
  }

  private serve(stream: ConsoleStream, frame: ConsoleOpen): void {
    const run = this.options.runner.get(frame.taskId);
    if (!run) return stream.end({ type: 'error', message: `task ${frame.taskId} is not held by agent ${this.options.agentName}` });
    if (frame.mode === 'attach') {
      const hub = run.console;
      if (hub) return hub.attach(stream, frame.size, frame.openedBy, frame.client);
      const why = run.interactive ? `the console of task ${frame.taskId} is not available (${run.state})` : `task ${frame.taskId} is not interactive: it has no console (use exec)`;
      return stream.end({ type: 'error', message: why });
    }
    const task = run.execTarget();
    if (!task) return stream.end({ type: 'error', message: `task ${frame.taskId} is not running` });
    run.system(`Exec by ${frame.openedBy}: ${JSON.stringify(frame.command)}`);
    serveExec(stream, task, frame).catch((error) => {
      log('console.exec-error', { session: frame.sessionId, error: errorMessage(error) });
      stream.end({ type: 'error', message: errorMessage(error) });
    });
  }
}
