import { randomBytes } from 'node:crypto';
import { PROTOCOL_VERSION, SchedulerFrame, type AgentFrame, type AgentReadiness, type Capacity, type HeldTask, type Labels } from '@tapit/protocol';
import WebSocket from 'ws';

type FrameOf<T extends SchedulerFrame['type']> = Extract<SchedulerFrame, { type: T }>;

/** A fresh agent credential, as the real agent makes at its first start. */
export const newCredential = () => randomBytes(32).toString('base64url');

/**
 * A protocol-level agent for tests: a real websocket client that speaks the frames by hand,
 * so the scheduler is tested without Docker and without the real agent's logic. Its hello
 * carries its credential, so connected with a join token it joins (or comes back) as the real
 * agent does; connected with its credential it is that agent.
 */
export class ProtocolAgent {
  private readonly inbox: SchedulerFrame[] = [];
  private waiters: (() => void)[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(
    readonly socket: WebSocket,
    /** Its own credential: registered by its first hello on a join connection. */
    readonly credential: string,
  ) {
    socket.on('message', (data) => {
      this.inbox.push(SchedulerFrame.parse(JSON.parse(data.toString())));
      this.wake();
    });
    this.closed = new Promise((resolve) => socket.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
      this.wake();
    }));
  }

  private wake() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Opens the agent websocket with `token`: a join token, or an agent's credential (then that agent's). */
  static connect(url: string, token: string, options: { credential?: string } = {}): Promise<ProtocolAgent> {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/agents/connect`, { headers: { authorization: `Bearer ${token}` } });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new ProtocolAgent(ws, options.credential ?? newCredential())));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  send(frame: AgentFrame | string): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Sends hello (with this agent's credential unless `credential: null`) and waits for the welcome. */
  async hello(
    name: string,
    options: {
      capacity?: Capacity;
      tasks?: HeldTask[];
      version?: number;
      readiness?: AgentReadiness;
      recovering?: boolean;
      heartbeatAcks?: boolean;
      labels?: Labels;
      credential?: string | null;
    } = {},
  ) {
    this.send({
      type: 'hello',
      protocolVersion: options.version ?? PROTOCOL_VERSION,
      agentName: name,
      agentVersion: 'test',
      capacity: options.capacity ?? { cpu: 4, memoryGb: 8 },
      tasks: options.tasks ?? [],
      ...(options.readiness ? { readiness: options.readiness } : {}),
      ...(options.recovering ? { recovering: true } : {}),
      ...(options.heartbeatAcks === undefined ? {} : { heartbeatAcks: options.heartbeatAcks }),
      ...(options.credential === null ? {} : { credential: options.credential ?? this.credential }),
      ...(options.labels ? { labels: options.labels } : {}),
    });
    return this.next('welcome');
  }

  /** The next frame of this type (earlier frames of other types stay queued). */
  async next<T extends SchedulerFrame['type']>(type: T, timeoutMs = 10_000): Promise<FrameOf<T>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.inbox.findIndex((f) => f.type === type);
      if (index >= 0) return this.inbox.splice(index, 1)[0] as FrameOf<T>;
      if (this.socket.readyState === WebSocket.CLOSED) throw new Error(`connection closed while waiting for ${type}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${type} frame within ${timeoutMs} ms (inbox: ${this.inbox.map((f) => f.type).join(', ')})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Frames received and not yet taken. */
  pending(): SchedulerFrame[] {
    return [...this.inbox];
  }

  close(): void {
    this.socket.close();
  }
}
