import WebSocket from 'ws';
import { AgentCloseCode, MAX_AGENT_FRAME_BYTES, SchedulerFrame, TaskId, describeIssues, type AgentFrame, type AgentReadiness } from '@tapit/protocol';
import { errorMessage, log } from '../log.js';
import type { TaskRunner } from '../tasks/runner.js';
import type { CutOffWatch } from './cut-off-watch.js';
import type { SchedulerClock } from './scheduler-clock.js';

type Hello = Extract<AgentFrame, { type: 'hello' }>;
type Refused = Extract<SchedulerFrame, { type: 'refused' }>;

export interface SessionOptions {
  url: string;
  token: string;
  /** Certificate authorities for a wss:// URL (TAPIT_CA_FILE); undefined: Node's own. */
  ca?: string[];
  hello: () => Promise<Hello>;
  /** Sent with every heartbeat. */
  readiness: () => AgentReadiness;
  runner: TaskRunner;
  /** Read from the welcome and heartbeat answers. */
  clock: SchedulerClock;
  /** Told of the welcome and of every frame or ping after it: the scheduler is there. */
  cutOff: CutOffWatch;
  /** Liveness before `welcome` tells the interval. */
  defaultIntervalMs?: number;
  onWelcome: () => void;
  /** `console.open`: the scheduler wants a console or exec stream for a task. */
  onConsoleOpen: (frame: Extract<SchedulerFrame, { type: 'console.open' }>) => void;
  /** `task.copy` (`tapit cp`) and `task.remove` (a kept container no longer wanted): the agent's files in and out. */
  onCopy?: (frame: Extract<SchedulerFrame, { type: 'task.copy' }>) => void;
  onRemove?: (frame: Extract<SchedulerFrame, { type: 'task.remove' }>) => void;
}

/** How a connection ended: refused after hello, or its upgrade answered with an HTTP status (401: not let in). */
export type SessionEnd = { refused: Refused | null; rejectedStatus: number | null };

/**
 * One websocket connection: hello → welcome, heartbeats, frames to the runner. Resolves when the
 * connection is gone for any reason; the caller decides whether and when to dial again.
 */
export class Session {
  private ws: WebSocket | null = null;
  private refused: Refused | null = null;
  private rejectedStatus: number | null = null;
  private welcomed = false;
  private intervalMs: number;
  private lastTraffic = Date.now();
  private timers: NodeJS.Timeout[] = [];
  /**
   * Its hello said `recovering`: the agent has not found its containers yet, so this connection
   * only shows it (not ready) and takes no task frames; the agent dials again once recovered.
   */
  presenceOnly = false;
  private helloMark = 0;
  /** Heartbeats not answered yet: their `at`, and when they left (SchedulerClock.mark). */
  private readonly beats = new Map<string, number>();

  constructor(private readonly options: SessionOptions) {
    this.intervalMs = options.defaultIntervalMs ?? 10_000;
  }

  run(): Promise<SessionEnd> {
    return new Promise((resolve) => {
      const ws = new WebSocket(this.options.url, {
        headers: { Authorization: `Bearer ${this.options.token}` },
        handshakeTimeout: 10_000,
        maxPayload: MAX_AGENT_FRAME_BYTES,
        ...(this.options.ca ? { ca: this.options.ca } : {}),
      });
      this.ws = ws;
      const alive = () => {
        this.lastTraffic = Date.now();
        if (this.welcomed) this.options.cutOff.heard();
      };
      ws.on('open', () => {
        alive();
        log('connection.open', { url: this.options.url });
        this.options.hello().then(
          (hello) => {
            this.presenceOnly = hello.recovering === true;
            this.helloMark = this.options.clock.mark();
            this.send(hello);
          },
          (error) => (log('connection.hello-failed', { error: errorMessage(error) }), ws.terminate()),
        );
      });
      ws.on('ping', alive);
      ws.on('pong', alive);
      ws.on('message', (data) => {
        alive();
        this.receive(data.toString());
      });
      ws.on('unexpected-response', (_req, res) => {
        this.rejectedStatus = res.statusCode ?? null;
        log('connection.rejected', { status: res.statusCode });
        ws.terminate();
      });
      ws.on('error', (error) => log('connection.error', { error: errorMessage(error) }));
      ws.on('close', (code, reason) => {
        for (const t of this.timers) clearInterval(t);
        if (this.welcomed && !this.presenceOnly) this.options.runner.detach();
        log('connection.closed', { code, reason: reason.toString() || undefined });
        resolve({ refused: this.refused, rejectedStatus: this.rejectedStatus });
      });
      // A link that carries nothing (no frame, no ping) for three intervals is dead, even if TCP
      // has not noticed (half-open): drop it and dial again.
      this.timers.push(
        setInterval(() => {
          if (Date.now() - this.lastTraffic > 3 * this.intervalMs) {
            log('connection.silent', { ms: Date.now() - this.lastTraffic });
            ws.terminate();
          }
        }, 250),
      );
    });
  }

  /** A heartbeat now, e.g. because readiness changed (only once welcomed). */
  heartbeat(): void {
    if (!this.welcomed) return;
    const at = new Date().toISOString();
    // Answers that never came (an older scheduler sends none) must not pile up.
    if (this.beats.size >= 8) this.beats.delete(this.beats.keys().next().value!);
    this.beats.set(at, this.options.clock.mark());
    this.send({ type: 'heartbeat', at, readiness: this.options.readiness() });
  }

  /** Waits (briefly) for queued frames to leave, then closes normally. */
  async close(reason = 'agent shutting down'): Promise<void> {
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    const until = Date.now() + 5000;
    while (ws.readyState === WebSocket.OPEN && ws.bufferedAmount > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    ws.close(1000, reason);
    const closed = new Promise((r) => ws.once('close', r));
    await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))]);
    ws.terminate();
  }

  private send(frame: AgentFrame): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  private receive(text: string): void {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return this.badFrame('not JSON');
    }
    const parsed = SchedulerFrame.safeParse(json);
    if (!parsed.success) {
      const assignment = unreadableAssignment(json);
      // A task this agent will not run fails on its own; everything else closes the connection.
      if (assignment && this.welcomed) return this.options.runner.refuse(assignment, describeIssues(parsed.error));
      return this.badFrame(describeIssues(parsed.error));
    }
    const frame = parsed.data;
    if (frame.type === 'refused') {
      this.refused = frame;
      log('connection.refused', { code: frame.code, message: frame.message });
      this.ws?.close(1000);
      return;
    }
    if (frame.type === 'welcome') {
      if (this.welcomed) return this.badFrame('second welcome');
      this.welcomed = true;
      if (frame.clock) this.options.clock.record(this.helloMark, frame.clock);
      this.options.cutOff.welcomed(frame.stopWhenCutOff);
      this.intervalMs = frame.heartbeatIntervalMs;
      log('connection.welcome', {
        heartbeatIntervalMs: frame.heartbeatIntervalMs,
        acks: frame.acks.length,
        drop: frame.drop.length,
        clockOffsetMs: this.options.clock.offsetMs,
        stopTasksAfterSeconds: frame.stopWhenCutOff?.afterSeconds,
      });
      this.options.onWelcome();
      const ws = this.ws!;
      const outbox = { send: (f: AgentFrame) => this.send(f), bufferedAmount: () => ws.bufferedAmount, logChunks: frame.logChunks === true, taskEnv: frame.taskEnv === true };
      if (!this.presenceOnly) this.options.runner.attach(outbox, frame);
      this.timers.push(setInterval(() => this.heartbeat(), frame.heartbeatIntervalMs));
      return;
    }
    if (!this.welcomed) return this.badFrame(`${frame.type} before welcome`);
    if (frame.type === 'heartbeat.ack') {
      const mark = this.beats.get(frame.at);
      if (mark !== undefined) this.options.clock.record(mark, frame.clock);
      this.beats.delete(frame.at);
      return;
    }
    // Sent again to the connection the agent dials once it has recovered.
    if (this.presenceOnly) return log('connection.frame-deferred', { type: frame.type, why: 'still recovering tasks' });
    try {
      if (frame.type === 'console.open') return this.options.onConsoleOpen(frame);
      if (frame.type === 'task.copy') return this.options.onCopy?.(frame);
      if (frame.type === 'task.remove') return this.options.onRemove?.(frame);
      this.options.runner.handle(frame);
    } catch (error) {
      log('task.frame-failed', { type: frame.type, error: errorMessage(error) });
    }
  }

  /** A frame we cannot trust ends this connection only; the next one starts clean. */
  private badFrame(why: string): void {
    log('connection.bad-frame', { why });
    this.ws?.close(AgentCloseCode.badFrame, 'bad frame');
  }
}

/** The task id of a `task.assign` whose task does not parse, or null for any other frame. */
function unreadableAssignment(json: unknown): string | null {
  const frame = json as { type?: unknown; task?: { taskId?: unknown } } | null;
  if (typeof frame !== 'object' || frame === null || frame.type !== 'task.assign') return null;
  const id = TaskId.safeParse(frame.task?.taskId);
  return id.success ? id.data : null;
}
