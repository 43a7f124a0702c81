import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { randomBytes } from 'node:crypto';
import { AgentFrame, ConsoleServerFrame, decodeConsoleData, encodeConsoleData, linesOfRun, type ConsoleClientFrame, type ConsoleOpen, type LogEntry, type SchedulerFrame, type TaskSpec } from '@tapit/protocol';

type Frame<T extends AgentFrame['type']> = Extract<AgentFrame, { type: T }>;

export interface FakeSchedulerOptions {
  heartbeatIntervalMs?: number;
  /** Acknowledge stored log lines and exits (true), or hold back acks (false). */
  autoAck?: boolean;
  /** Websocket pings every heartbeat interval, as the real scheduler does (default true). */
  ping?: boolean;
  /** Answer hello with this instead of a welcome. */
  refuse?: Extract<SchedulerFrame, { type: 'refused' }>['code'];
  /** Answer the upgrade 401 when this says so of its Authorization header (a credential it does not know). */
  unauthorized?: (authorization: string | undefined) => boolean;
  /** Asked at each hello: take it and cut the connection without an answer (a welcome lost on the way). */
  loseWelcome?: () => boolean;
  /** Say `logChunks` in the welcome, as schedulers that take `task.log.chunk` do (default true). */
  logChunks?: boolean;
}

/**
 * A scheduler for tests: a real websocket server on 127.0.0.1 speaking the protocol frames. It
 * stores log lines (`task.log`, or `task.log.chunk` unless `logChunks: false`) by seq the way the
 * real one must (duplicates dropped), and records the rest.
 */
export class FakeScheduler {
  readonly frames: AgentFrame[] = [];
  readonly hellos: Frame<'hello'>[] = [];
  readonly authHeaders: (string | undefined)[] = [];
  readonly logs = new Map<string, Map<number, LogEntry>>();
  readonly duplicates = new Map<string, number>();
  /** Re-sent seqs whose line differs from the stored one: the agent renumbered its log. */
  readonly conflicts: string[] = [];
  readonly exits = new Map<string, Frame<'task.exited'>>();
  /** Tasks finished here: listed in `drop`, still acked (their logs are wanted). */
  readonly drop = new Set<string>();
  /** Tasks this scheduler never heard of: in `drop`, with no ack. */
  readonly unknown = new Set<string>();
  connections = 0;
  readonly consoleDialBacks: FakeConsoleStream[] = [];
  /** While set, the scheduler is unreachable: every connection is cut at once. */
  down = false;
  socket: WebSocket | null = null;
  autoAck: boolean;
  private server: Server;
  private wss: WebSocketServer;

  constructor(private readonly options: FakeSchedulerOptions = {}) {
    this.autoAck = options.autoAck ?? true;
    this.server = createServer();
    this.wss = new WebSocketServer({ noServer: true });
    this.server.on('upgrade', (req, socket, head) => {
      const path = req.url ?? '';
      if (path.startsWith('/v1/agents/consoles/')) {
        // A console dial-back: record what the agent says on it.
        return this.wss.handleUpgrade(req, socket, head, (ws) => {
          this.consoleDialBacks.push(new FakeConsoleStream(ws, path, req.headers.authorization));
        });
      }
      if (path !== '/v1/agents/connect') return void socket.destroy();
      if (this.options.unauthorized?.(req.headers.authorization)) {
        this.authHeaders.push(req.headers.authorization);
        return void socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit('connection', ws, req));
    });
    this.wss.on('connection', (ws, req) => {
      if (this.down) return void ws.terminate();
      this.connections++;
      this.authHeaders.push(req.headers.authorization);
      this.socket = ws;
      if (this.options.ping ?? true) {
        const timer = setInterval(() => ws.ping(), this.options.heartbeatIntervalMs ?? 1000);
        ws.on('close', () => clearInterval(timer));
      }
      ws.on('message', (data) => this.receive(ws, JSON.parse(data.toString())));
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise((r) => this.wss.close(r));
    await new Promise((r) => this.server.close(r));
  }

  goDown(): void {
    this.down = true;
    for (const ws of this.wss.clients) ws.terminate();
  }

  send(frame: SchedulerFrame | Record<string, unknown>): void {
    this.socket?.send(JSON.stringify(frame));
  }

  assign(task: TaskSpec): void {
    this.envs.set(task.taskId, { env: task.env, secretKeys: task.secretKeys ?? [] });
    this.send({ type: 'task.assign', task });
  }

  /** The env of each task assigned, given again on `task.env.request` as the scheduler does. */
  readonly envs = new Map<string, { env: Record<string, string>; secretKeys: string[]; failure?: string }>();

  /** Highest seq stored with no gap below it. */
  storedSeq(taskId: string): number {
    const lines = this.logs.get(taskId);
    // Cached, since it is asked on every frame; tests that delete lines invalidate it.
    let seq = this.contiguous.get(taskId) ?? 0;
    if (seq > 0 && !lines?.has(seq)) seq = 0;
    while (lines?.has(seq + 1)) seq++;
    this.contiguous.set(taskId, seq);
    return seq;
  }
  private readonly contiguous = new Map<string, number>();

  /** The stored log, in seq order, as text; throws on a gap. */
  lines(taskId: string, stream?: LogEntry['stream']): string[] {
    const lines = this.logs.get(taskId) ?? new Map();
    const out: string[] = [];
    for (let seq = 1; seq <= this.storedSeq(taskId); seq++) {
      const l = lines.get(seq)!;
      if (!stream || l.stream === stream) out.push(l.text);
    }
    if (lines.size !== this.storedSeq(taskId)) throw new Error(`gap in log of ${taskId}: ${[...lines.keys()].join(',')}`);
    return out;
  }

  of<T extends AgentFrame['type']>(type: T, taskId?: string): Frame<T>[] {
    return this.frames.filter((f): f is Frame<T> => f.type === type && (!taskId || (f as { taskId?: string }).taskId === taskId));
  }

  /** Sends `console.open` as the real scheduler does and waits for the agent's dial-back. */
  async openConsole(taskId: string, options: Partial<Omit<ConsoleOpen, 'type' | 'taskId' | 'sessionId'>> = {}): Promise<FakeConsoleStream> {
    const sessionId = randomBytes(16).toString('hex');
    this.send({
      type: 'console.open',
      sessionId,
      taskId,
      mode: 'attach',
      command: null,
      tty: true,
      size: { cols: 80, rows: 24 },
      openedBy: 'alice',
      ...options,
    });
    return waitFor('console dial-back', () => this.consoleDialBacks.find((d) => d.sessionId === sessionId), 15_000);
  }

  ack(taskId: string): void {
    this.send({ type: 'task.log.ack', taskId, seq: this.storedSeq(taskId) });
  }

  private receive(ws: WebSocket, json: unknown): void {
    const parsed = AgentFrame.safeParse(json);
    if (!parsed.success) throw new Error(`agent sent a bad frame: ${JSON.stringify(json).slice(0, 200)}`);
    const frame = parsed.data;
    this.frames.push(frame);
    switch (frame.type) {
      case 'hello':
        this.hellos.push(frame);
        if (this.options.loseWelcome?.()) return void ws.terminate();
        if (this.options.refuse) {
          ws.send(JSON.stringify({ type: 'refused', code: this.options.refuse, message: 'refused by test' }));
          ws.close(4426);
          return;
        }
        ws.send(
          JSON.stringify({
            type: 'welcome',
            protocolVersion: 1,
            agentName: frame.agentName,
            heartbeatIntervalMs: this.options.heartbeatIntervalMs ?? 1000,
            acks: frame.tasks.filter((t) => !this.unknown.has(t.taskId)).map((t) => ({ taskId: t.taskId, seq: this.storedSeq(t.taskId) })),
            drop: frame.tasks.filter((t) => this.drop.has(t.taskId) || this.unknown.has(t.taskId)).map((t) => t.taskId),
            ...(this.options.logChunks === false ? {} : { logChunks: true }),
            taskEnv: true,
          }),
        );
        return;
      case 'task.log':
      case 'task.log.chunk': {
        if (frame.type === 'task.log.chunk' && this.options.logChunks === false) throw new Error('agent sent task.log.chunk to a scheduler that did not say logChunks');
        const lines = this.logs.get(frame.taskId) ?? new Map<number, LogEntry>();
        this.logs.set(frame.taskId, lines);
        const entries = frame.type === 'task.log' ? frame.lines : frame.runs.flatMap((run) => linesOfRun(run).map((text) => ({ stream: run.stream, text, at: run.at })));
        entries.forEach((line, i) => {
          const seq = frame.seq + i;
          const stored = lines.get(seq);
          if (stored && (stored.text !== line.text || stored.stream !== line.stream)) this.conflicts.push(`${frame.taskId}#${seq}: ${stored.text} vs ${line.text}`);
          if (stored) this.duplicates.set(frame.taskId, (this.duplicates.get(frame.taskId) ?? 0) + 1);
          else lines.set(seq, line);
        });
        if (this.autoAck) this.ack(frame.taskId);
        return;
      }
      case 'task.env.request': {
        const env = this.envs.get(frame.taskId) ?? { env: {}, secretKeys: [] };
        ws.send(JSON.stringify({ type: 'task.env', taskId: frame.taskId, ...env }));
        return;
      }
      case 'task.exited':
        this.exits.set(frame.taskId, frame);
        // The scheduler answers a stored exit with an ack of its lastSeq: the agent may clean up.
        if (this.autoAck) ws.send(JSON.stringify({ type: 'task.log.ack', taskId: frame.taskId, seq: frame.lastSeq }));
        return;
      default:
        return;
    }
  }
}

export async function waitFor<T>(what: string, fn: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The scheduler's end of one console dial-back stream, as a test user sees it. */
export class FakeConsoleStream {
  readonly sessionId: string;
  /** Text messages as they came. */
  readonly messages: string[] = [];
  readonly frames: ConsoleServerFrame[] = [];
  private readonly out: { 1: Buffer[]; 2: Buffer[] } = { 1: [], 2: [] };
  private readonly size = { 1: 0, 2: 0 };
  closed = false;

  constructor(
    readonly ws: WebSocket,
    readonly path: string,
    readonly auth: string | undefined,
  ) {
    this.sessionId = path.split('/').pop() ?? '';
    ws.on('message', (data, isBinary) => {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      if (isBinary) {
        const decoded = decodeConsoleData(bytes);
        if (decoded && decoded.channel !== 0) {
          this.out[decoded.channel].push(Buffer.from(decoded.data));
          this.size[decoded.channel] += decoded.data.length;
        }
        return;
      }
      this.messages.push(bytes.toString());
      this.frames.push(ConsoleServerFrame.parse(JSON.parse(bytes.toString())));
    });
    ws.on('close', () => (this.closed = true));
  }

  get stdout(): Buffer {
    return this.joined(1);
  }

  get stderr(): Buffer {
    return this.joined(2);
  }

  /** Joined lazily and kept joined: a fast console sends thousands of small messages. */
  private joined(channel: 1 | 2): Buffer {
    const chunks = this.out[channel];
    if (chunks.length > 1) chunks.splice(0, chunks.length, Buffer.concat(chunks));
    return chunks[0] ?? Buffer.alloc(0);
  }

  get output(): string {
    return this.stdout.toString('utf8');
  }

  frame<T extends ConsoleServerFrame['type']>(type: T): Extract<ConsoleServerFrame, { type: T }> | undefined {
    return this.frames.find((f): f is Extract<ConsoleServerFrame, { type: T }> => f.type === type);
  }

  type(input: string | Uint8Array): void {
    this.ws.send(encodeConsoleData(0, typeof input === 'string' ? Buffer.from(input) : input));
  }

  control(frame: ConsoleClientFrame): void {
    this.ws.send(JSON.stringify(frame));
  }

  /**
   * Waits until the output contains `text` (after `from` bytes). Each look reads only what came
   * since the last one (and a little before, for a match across the two): joining and decoding
   * all of a 30 MB burst every 50 ms would starve the agent running in this same process.
   */
  until(text: string | RegExp, from = 0, timeoutMs = 15_000): Promise<string> {
    const test = (s: string) => (typeof text === 'string' ? s.includes(text) : text.test(s));
    let checked = from;
    return waitFor(
      `console output ${String(text)}`,
      () => {
        const end = this.size[1];
        const found = test(this.stdoutFrom(Math.max(from, checked - 4096)).toString('utf8'));
        checked = end;
        return found ? this.output : undefined;
      },
      timeoutMs,
    );
  }

  /** The last `bytes` of standard output, copying only those. */
  tail(bytes: number): Buffer {
    return this.stdoutFrom(Math.max(0, this.size[1] - bytes));
  }

  /** Standard output from byte `start` on, copying only that part. */
  private stdoutFrom(start: number): Buffer {
    const chunks = this.out[1];
    const parts: Buffer[] = [];
    let offset = this.size[1];
    for (let i = chunks.length - 1; i >= 0 && offset > start; i--) {
      const chunk = chunks[i]!;
      offset -= chunk.length;
      parts.unshift(offset >= start ? chunk : chunk.subarray(start - offset));
    }
    return Buffer.concat(parts);
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.ws.close(1000);
    return waitFor('stream closed', () => this.closed, 10_000).then(() => undefined);
  }
}
