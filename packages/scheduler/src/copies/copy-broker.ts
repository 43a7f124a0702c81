import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { pipeline, Readable, Transform, type Duplex, type TransformCallback } from 'node:stream';
import { CopyHead, type SchedulerFrame } from '@tapit/protocol';
import type { Kysely } from 'kysely';
import { WebSocketServer, type WebSocket } from 'ws';
import { dialBackAgent } from '../agents/dial-back-auth.js';
import { AuthFailures, DEFAULT_AUTH_FAILURES_PER_MINUTE } from '../auth/auth-failures.js';
import type { Database } from '../db/schema.js';
import { DomainError } from '../domain/domain-error.js';
import { ApiError, toApiError } from '../http/api-error.js';
import { refuseUpgrade } from '../http/refuse-upgrade.js';
import { coerceError } from '../db/errors.js';
import { bearerOf } from '../agents/agent-auth.js';
import { routeToAgent } from '../replicas/agent-route.js';
import { DialBackWaits } from '../replicas/dial-back-waits.js';
import type { RelayCredential } from '../replicas/relay-credential.js';
import { dialReplica, pipeWebSockets } from '../replicas/replica-relay.js';
import { findTask } from '../tasks/repository.js';
import type { TaskWithApp } from '../tasks/task-view.js';

const MAX_MESSAGE_BYTES = 1024 * 1024;
/** TAPIT_COPY_MAX_BYTES unless configured: 256 MiB. */
export const DEFAULT_COPY_MAX_BYTES = 256 * 1024 ** 2;

/** Where the agents of this replica are reached (AgentGateway's sessions). */
export interface AgentDirectory {
  get(agent: string): { send(frame: SchedulerFrame): void } | undefined;
  has(agent: string): boolean;
}

export interface CopyBrokerDeps {
  db: Kysely<Database>;
  agents: AgentDirectory;
  log: (line: string) => void;
  /** TAPIT_COPY_MAX_BYTES: a bigger file is refused before a byte of it moves. */
  maxBytes?: number;
  authFailures?: AuthFailures;
  /** This replica (TAPIT_SCHEDULER_ID). */
  schedulerId: string;
  /** What replicas show each other to relay a copy from an agent one of them holds. */
  relay: RelayCredential;
}

/** A copy under way: the file's size and mode, and its bytes as the agent sends them. */
export interface OpenedCopy {
  size: number;
  mode: number;
  bytes: Readable;
}

/**
 * `tapit cp TASK:/PATH LOCAL`: asks the task's agent (connected to this replica, as consoles) for
 * one file, waits for it to dial back, and hands the bytes on as they come. Backpressure runs the
 * whole way: the client's reads, the HTTP answer, this socket, the agent's reads of the engine.
 */
export class CopyBroker {
  private readonly agentSockets = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  /** Other replicas relaying a copy from an agent connected here. */
  private readonly relays = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES, perMessageDeflate: false });
  private readonly waiting = new DialBackWaits();
  private readonly failures: AuthFailures;
  readonly maxBytes: number;

  constructor(private readonly deps: CopyBrokerDeps) {
    this.failures = deps.authFailures ?? new AuthFailures({ perMinute: DEFAULT_AUTH_FAILURES_PER_MINUTE, log: deps.log });
    this.maxBytes = deps.maxBytes ?? DEFAULT_COPY_MAX_BYTES;
  }

  /** Opens a copy of `path` from `task`'s container; throws what the agent or the task's state refuses. */
  async open(task: TaskWithApp, path: string): Promise<OpenedCopy> {
    if (!task.agent_name || task.started_at === null) throw new DomainError('CONFLICT', `task ${task.id} is ${task.status} and never started: it has no container to copy from`);
    const route = await routeToAgent({ db: this.deps.db, schedulerId: this.deps.schedulerId, connectedHere: (agent) => this.deps.agents.has(agent) }, task.agent_name, task.id).catch((error: unknown) => {
      if (error instanceof DomainError && task.status === 'STOPPED') throw new DomainError('CONFLICT', `${error.message}: a kept container can be copied from while its agent is connected`);
      throw error;
    });
    const copyId = randomBytes(16).toString('hex');
    // Through the replica holding the agent: it asks, and answers once the agent dialled back.
    const query = new URLSearchParams({ task: task.id, path });
    const ws = route.here ? await this.askAgent(copyId, task, path) : await dialReplica(route.url, `/v1/replicas/copies/${copyId}?${query}`, this.deps.relay.bearer, 'copy');
    if (!ws) throw new DomainError('CONFLICT', `agent ${task.agent_name} did not answer the copy of ${path} in time`);
    const { head, bytes } = await readCopy(ws);
    if (!head) {
      ws.terminate();
      throw new DomainError('CONFLICT', `agent ${task.agent_name} closed the copy of ${path} without an answer`);
    }
    if (head.type === 'copy.error') {
      ws.close(1000);
      throw copyRefusal(head.code, head.message, task);
    }
    // The file is whole only with `size` bytes: a link cut before them is an error, never a short file.
    // One pipeline: a client that goes away (its stream destroyed) ends the socket, so the agent stops reading.
    const exact = new ExactLength(head.size);
    pipeline(bytes, exact, () => ws.readyState === ws.OPEN && ws.close(1000));
    return { size: head.size, mode: head.mode, bytes: exact };
  }

  /** Asks `task`'s agent, connected here, for the file; its socket, or undefined if it did not dial back in time. */
  private askAgent(copyId: string, task: TaskWithApp, path: string): Promise<WebSocket | undefined> {
    const dialled = this.waiting.expect(copyId, task.agent_name!);
    this.deps.agents.get(task.agent_name!)?.send({ type: 'task.copy', copyId, taskId: task.id, path, maxBytes: this.maxBytes });
    return dialled;
  }

  /**
   * Another replica relaying a copy (the user's token, role and project checked there): only with
   * the replicas' relay credential, for a task whose agent is connected here. Answered once the
   * agent dialled back; the agent's socket is then piped on as it is.
   */
  async handleReplicaUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer, copyId: string): Promise<void> {
    if (!this.deps.relay.accepts(request)) {
      this.failures.failed(request.socket.remoteAddress, bearerOf(request) === undefined ? 'missing token' : 'invalid token', 'a replica relay');
      return refuseUpgrade(socket, 401, 'UNAUTHORIZED', 'a relay takes the replicas\' relay credential (derived from TAPIT_SECRET_KEY)');
    }
    const query = new URL(request.url ?? '/', 'http://x').searchParams;
    const path = query.get('path') ?? '';
    let task: TaskWithApp;
    try {
      task = await findTask(this.deps.db, query.get('task') ?? '', null);
      if (!task.agent_name || !this.deps.agents.has(task.agent_name)) throw new DomainError('CONFLICT', `agent ${task.agent_name} of task ${task.id} is no longer connected to scheduler replica ${this.deps.schedulerId}`);
    } catch (error) {
      const refusal = toApiError(error) ?? new ApiError('INTERNAL', 'internal error');
      if (refusal.code === 'INTERNAL') this.deps.log(`copy relay: ${coerceError(error).message}`);
      return refuseUpgrade(socket, refusal.status, refusal.code, refusal.message, refusal.field);
    }
    const agent = await this.askAgent(copyId, task, path);
    if (!agent) return refuseUpgrade(socket, 409, 'CONFLICT', `agent ${task.agent_name} did not answer the copy of ${path} in time`);
    if (socket.destroyed) return void agent.close(1000, 'client gone');
    this.relays.handleUpgrade(request, socket, head, (relay) => pipeWebSockets(relay, agent));
  }

  /** The agent dialling back for a copy it was asked for: its own credential, and only the agent asked. */
  async handleAgentUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer, copyId: string): Promise<void> {
    const agent = await dialBackAgent({ db: this.deps.db, failures: this.failures, log: this.deps.log }, request, socket, 'copy');
    if (agent === undefined) return;
    if (this.waiting.agentOf(copyId) !== agent) return refuseUpgrade(socket, 404, 'NOT_FOUND', `no copy ${copyId} is waiting for agent ${agent}`);
    this.agentSockets.handleUpgrade(request, socket, head, (ws) => this.waiting.deliver(copyId, ws));
  }

  close(): void {
    for (const ws of [...this.agentSockets.clients, ...this.relays.clients]) ws.close(1001, 'scheduler shutting down');
    this.agentSockets.close();
    this.relays.close();
  }
}

/**
 * A copy's socket as its CopyHead (undefined if the socket closed or sent something else first)
 * and a stream of the binary messages after it, which pauses the socket while its reader is full.
 */
function readCopy(ws: WebSocket): Promise<{ head: CopyHead | undefined; bytes: Readable }> {
  let resolveHead: (head: CopyHead | undefined) => void = () => {};
  const head = new Promise<CopyHead | undefined>((resolve) => (resolveHead = resolve));
  let headSeen = false;
  const bytes = new Readable({ read: () => ws.resume() });
  ws.on('message', (data, isBinary) => {
    if (!headSeen) {
      headSeen = true;
      let parsed: CopyHead | undefined;
      try {
        const checked = isBinary ? undefined : CopyHead.safeParse(JSON.parse(String(data)));
        parsed = checked?.success ? checked.data : undefined;
      } catch {
        parsed = undefined;
      }
      return resolveHead(parsed);
    }
    if (!isBinary) return void bytes.destroy(new Error('the agent sent text within a file'));
    if (!bytes.push(data as Buffer)) ws.pause();
  });
  ws.once('close', () => {
    resolveHead(undefined);
    bytes.push(null);
  });
  ws.once('error', (error) => bytes.destroy(error));
  ws.resume(); // a relayed one comes paused (dialReplica)
  return head.then((h) => ({ head: h, bytes }));
}

/** The agent's refusal as the API answers it. */
function copyRefusal(code: CopyHead extends infer H ? (H extends { type: 'copy.error'; code: infer C } ? C : never) : never, message: string, task: TaskWithApp): Error {
  switch (code) {
    case 'NOT_FOUND':
      return new DomainError('NOT_FOUND', message, 'path');
    case 'IS_DIRECTORY':
    case 'NOT_A_FILE':
      return new DomainError('VALIDATION_FAILED', message, 'path');
    case 'TOO_LARGE':
      return new ApiError('PAYLOAD_TOO_LARGE', message, 'path');
    case 'CONTAINER_GONE':
      return new DomainError('NOT_FOUND', `task ${task.id}'s container is gone: ${message}`);
    default:
      return new DomainError('CONFLICT', message);
  }
}

/** Passes exactly `size` bytes; fewer at the end, or more, is an error (the answer is then cut, never short and whole-looking). */
class ExactLength extends Transform {
  private seen = 0;
  constructor(private readonly size: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.size) return callback(new Error(`the agent sent more than the file's ${this.size} bytes`));
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    callback(this.seen === this.size ? null : new Error(`the copy was cut after ${this.seen} of ${this.size} bytes`));
  }
}
