import type { SchedulerMetrics } from '../metrics/scheduler-metrics.js';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { ConsoleClientId, INITIATED_BY_HEADER, OpenConsoleQuery, describeIssues } from '@tapit/protocol';
import type { Kysely } from 'kysely';
import { WebSocketServer, type WebSocket } from 'ws';
import { z } from 'zod';
import type { AgentGateway } from '../agents/gateway.js';
import { bearerOf } from '../agents/agent-auth.js';
import { dialBackAgent } from '../agents/dial-back-auth.js';
import { requireRole } from '../auth/permissions.js';
import type { TokenWatch } from '../auth/token-watch.js';
import { authenticate, type Principal } from '../auth/tokens.js';
import { boundText, recordAudit } from '../audit/record.js';
import { AuthFailures, DEFAULT_AUTH_FAILURES_PER_MINUTE } from '../auth/auth-failures.js';
import { coerceError } from '../db/errors.js';
import { retryWhileUnavailable } from '../db/retry.js';
import type { Database } from '../db/schema.js';
import { ApiError, toApiError } from '../http/api-error.js';
import { initiatedByOf } from '../http/initiated-by.js';
import { refuseUpgrade } from '../http/refuse-upgrade.js';
import { StreamLimits } from '../http/stream-limits.js';
import type { TaskWithApp } from '../tasks/task-view.js';
import { ConsoleRecorder } from './recorder.js';
import { relayConsole } from './relay.js';
import { findConsoleTarget } from './console-target.js';
import { endConsoleSession, openConsoleSession } from './repository.js';
import { routeToAgent, type AgentRoute } from '../replicas/agent-route.js';
import { DialBackWaits } from '../replicas/dial-back-waits.js';
import type { RelayCredential } from '../replicas/relay-credential.js';
import { dialReplica, pipeWebSockets } from '../replicas/replica-relay.js';
import { findTask } from '../tasks/repository.js';
const MAX_MESSAGE_BYTES = 1024 * 1024;
const Command = z.array(z.string().min(1).refine((s) => !s.includes('\0'), 'must not contain NUL bytes')).min(1).max(1024);

export interface ConsoleBrokerDeps {
  db: Kysely<Database>;
  /** Counts the sessions relayed (tapit_console_sessions). */
  metrics?: SchedulerMetrics;
  gateway: AgentGateway;
  tokenWatch: TokenWatch;
  /** This replica, recorded on each session it relays. */
  schedulerId: string;
  log: (line: string) => void;
  /** Failed authentications per address, shared with the API. */
  authFailures?: AuthFailures;
  /** TAPIT_CONSOLE_RECORDING_MAX_BYTES: a recording holds at most this many bytes of events. */
  recordingMaxBytes?: number;
  /** Open streams per token and in all, shared with the log follows. */
  streamLimits?: StreamLimits;
  /** What replicas show each other to relay a session to an agent one of them holds. */
  relay: RelayCredential;
}

interface OpenRequest {
  principal: Principal;
  task: TaskWithApp;
  mode: 'attach' | 'exec';
  command: string[] | null;
  tty: boolean;
  cols: number;
  rows: number;
  source: string | null;
  /** Gives the session's stream slot back (any number of times). */
  release: () => void;
  /** The upgrade's X-Initiated-By. */
  initiatedBy: string | null;
  /** Where the task's agent is reached: here, or through the replica holding it. */
  route: AgentRoute;
  /** attach: the id the client keeps across its reconnects (console.open's `client`). */
  client?: string;
}

/** What the agent is asked to open (console.open's fields). */
type AgentAsk = Pick<OpenRequest, 'task' | 'mode' | 'command' | 'tty' | 'cols' | 'rows' | 'client'> & { openedBy: string };

/**
 * Console and exec sessions: checks the user's upgrade (token, role, project, task state) before
 * any websocket exists, asks the task's agent to dial back for the session, and relays the two.
 */
export class ConsoleBroker {
  private readonly clients = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  private readonly agents = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  /** Other replicas relaying a session to an agent connected here. */
  private readonly relays = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES, perMessageDeflate: false });
  /** Sessions waiting for their agent to dial back. */
  private readonly waiting = new DialBackWaits();
  private readonly failures: AuthFailures;
  private readonly streams: StreamLimits;

  constructor(private readonly deps: ConsoleBrokerDeps) {
    this.failures = deps.authFailures ?? new AuthFailures({ perMinute: DEFAULT_AUTH_FAILURES_PER_MINUTE, log: deps.log });
    this.streams = deps.streamLimits ?? new StreamLimits();
  }

  /**
   * The user's upgrade. The server has already refused a malformed task reference and an address
   * past its failed logins; here a stranger's refusal is only counted (never a row per request),
   * while an authenticated refusal is audited with bounded fields (RELIABILITY scenario 14).
   */
  async handleClientUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer, taskRef: string, mode: 'attach' | 'exec'): Promise<void> {
    const source = request.socket.remoteAddress ?? null;
    const presented = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    if (!presented) {
      this.failures.failed(source, 'missing token', 'a console upgrade');
      return refuseUpgrade(socket, 401, 'UNAUTHORIZED', 'missing bearer token: run `tapit login` or set TAPIT_TOKEN');
    }
    let principal: Principal | undefined;
    try {
      principal = await authenticate(this.deps.db, presented);
    } catch (error) {
      return refuseWithAnswer(socket, this.unexpected(error));
    }
    if (!principal) {
      this.failures.failed(source, 'invalid token', 'a console upgrade');
      return refuseUpgrade(socket, 401, 'UNAUTHORIZED', 'invalid or revoked token');
    }
    const open = await this.admit(request, principal, taskRef, mode, { counted: false });
    if (open instanceof ApiError) return refuseWithAnswer(socket, open);
    // The slot is the socket's: given back when it closes, however the session ended (or if
    // the handshake itself fails).
    socket.once('close', open.release);
    this.clients.handleUpgrade(request, socket, head, (client) =>
      this.open(client, open).catch((error) => {
        this.deps.log(`console session of task ${open.task.id}: ${coerceError(error).message}`);
        client.terminate();
      }),
    );
  }

  /**
   * A browser's socket from the dashboard, already accepted (dashboard/browser-socket.ts checked
   * its session and Origin, and counts it as one of the token's streams; `principal` is the
   * session's token). From here on it is the CLI's session: the same checks, audit, recording
   * and relay. A refusal is an `error` frame and a close with code 4000 + the HTTP status: a
   * browser sees no refused upgrade's answer, only that it failed.
   */
  async serveBrowser(client: WebSocket, request: IncomingMessage, principal: Principal, taskRef: string, mode: 'attach' | 'exec'): Promise<void> {
    const open = await this.admit(request, principal, taskRef, mode, { counted: true });
    if (open instanceof ApiError) {
      client.send(JSON.stringify({ type: 'error', code: open.code, message: open.message }));
      return client.close(4000 + open.status, open.code);
    }
    await this.open(client, open).catch((error) => {
      this.deps.log(`console session of task ${open.task.id}: ${coerceError(error).message}`);
      client.terminate();
    });
  }

  /** The session an authenticated client may open, or why not (audited). */
  private async admit(request: IncomingMessage, principal: Principal, taskRef: string, mode: 'attach' | 'exec', streams: { counted: boolean }): Promise<OpenRequest | ApiError> {
    const source = request.socket.remoteAddress ?? null;
    const initiatedBy = initiatedByOf(request.headers[INITIATED_BY_HEADER.toLowerCase()]);
    try {
      return await this.checkOpen(request, principal, taskRef, mode, source, initiatedBy, streams);
    } catch (error) {
      const refusal = this.unexpected(error);
      await recordAudit(this.deps.db, {
        actor: principal.name,
        initiatedBy,
        action: `console.${mode}.refused`,
        targetType: 'task',
        targetId: taskRef,
        source,
        details: { code: refusal.code, message: boundText(refusal.message) },
      }).catch(() => {});
      return refusal;
    }
  }

  /** A thrown error as the answer to give: its own, or INTERNAL (logged, as a database outage is). */
  private unexpected(error: unknown): ApiError {
    const known = toApiError(error);
    if (!known || known.code === 'DATABASE_UNAVAILABLE') this.deps.log(`console upgrade: ${known ? known.message : coerceError(error).message}`);
    return known ?? new ApiError('INTERNAL', 'internal error');
  }

  private async checkOpen(request: IncomingMessage, principal: Principal, taskRef: string, mode: 'attach' | 'exec', source: string | null, initiatedBy: string | null, streams: { counted: boolean }): Promise<OpenRequest> {
    requireRole(principal, 'member');
    const query = OpenConsoleQuery.safeParse(Object.fromEntries(new URL(request.url ?? '/', 'http://x').searchParams));
    if (!query.success) throw new ApiError('VALIDATION_FAILED', describeIssues(query.error));
    let command: string[] | null = null;
    if (mode === 'exec') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(query.data.command ?? '');
      } catch {
        throw new ApiError('VALIDATION_FAILED', 'command: must be a JSON array of strings, e.g. ["ls","-l"]', 'command');
      }
      const checked = Command.safeParse(parsed);
      if (!checked.success) throw new ApiError('VALIDATION_FAILED', `command: ${describeIssues(checked.error)}`, 'command');
      command = checked.data;
    }
    const task = await findConsoleTarget(this.deps.db, principal, taskRef, mode);
    const route = await routeToAgent({ db: this.deps.db, schedulerId: this.deps.schedulerId, connectedHere: (agent) => this.deps.gateway.sessions.has(agent) }, task.agent_name ?? '', task.id);
    // Last: a refusal for a reason of its own (role, project, task) says that reason.
    // A browser's socket is counted already: the dashboard counted it when it accepted it.
    const release = streams.counted ? () => {} : this.streams.acquire(principal.name);
    const client = mode === 'attach' ? query.data.client : undefined;
    return { principal, task, mode, command, tty: mode === 'attach' || query.data.tty === '1', cols: query.data.cols, rows: query.data.rows, source, release, initiatedBy, route, client };
  }

  private async open(client: WebSocket, open: OpenRequest): Promise<void> {
    // Revoking the token that opened the session ends it (the task itself goes on).
    const revocation = new AbortController();
    const unwatch = this.deps.tokenWatch.watch(open.principal.name, () => revocation.abort(`the token "${open.principal.name}" was revoked`));
    this.deps.metrics?.consoleSessionsStarted.inc({ mode: open.mode });
    this.deps.metrics?.consoleSessions.inc({ mode: open.mode });
    try {
      await this.run(client, open, revocation.signal);
    } finally {
      this.deps.metrics?.consoleSessions.dec({ mode: open.mode });
      unwatch();
      open.release();
    }
  }

  private async run(client: WebSocket, open: OpenRequest, revoked: AbortSignal): Promise<void> {
    const { db, log } = this.deps;
    // Hold the user's keystrokes until the agent is there to take them.
    client.pause();
    const sessionId = randomBytes(16).toString('hex');
    const app = await db.selectFrom('apps').select('record_input').where('id', '=', open.task.app_id).executeTakeFirst();
    const inputRecorded = app?.record_input ?? false;
    const session = { id: sessionId, taskId: open.task.id, mode: open.mode, openedBy: open.principal.name, initiatedBy: open.initiatedBy, source: open.source, project: open.task.project };
    await openConsoleSession(db, { ...session, command: open.command, tty: open.tty, cols: open.cols, rows: open.rows, schedulerId: this.deps.schedulerId, inputRecorded });
    let agent: WebSocket | undefined;
    let refused: string | undefined;
    if (open.route.here) {
      agent = await this.askAgent(sessionId, { ...open, openedBy: open.principal.name });
    } else {
      // The replica holding the agent asks it and answers once it dialled back: from then on its
      // socket is the agent's stream, and this replica relays, records and audits as for its own.
      const path = `/v1/replicas/consoles/${sessionId}${open.client ? `?client=${open.client}` : ''}`;
      agent = await dialReplica(open.route.url, path, this.deps.relay.bearer, 'console').catch((error: Error) => {
        refused = error.message;
        return undefined;
      });
    }
    if (!agent || client.readyState !== client.OPEN || revoked.aborted) {
      agent?.close(1000, 'client gone');
      client.resume(); // a paused socket cannot finish the close handshake
      const message = revoked.aborted ? String(revoked.reason) : agent ? 'client gone before the agent answered' : (refused ?? `agent ${open.task.agent_name} did not open the session in time`);
      if (client.readyState === client.OPEN) client.send(JSON.stringify({ type: 'error', message }));
      client.close(1011, 'no agent');
      // Its attach or exec was audited: so is its end, as every session's.
      await retryWhileUnavailable(() => endConsoleSession(db, session, { reason: `error: ${message}`, exitCode: null }));
      return;
    }
    const recorder = new ConsoleRecorder(db, sessionId, log, inputRecorded, this.deps.recordingMaxBytes);
    const ended = relayConsole(client, agent, recorder, revoked);
    client.resume();
    agent.resume(); // a relayed one comes paused (dialReplica)
    const end = await ended;
    await recorder.close();
    // A session that ends while the database is away is closed, with its audit row, once it answers.
    await retryWhileUnavailable(() => endConsoleSession(db, session, end));
  }

  /** Asks the task's agent, connected here, to open the session; its socket, or undefined if it did not dial back in time. */
  private askAgent(sessionId: string, ask: AgentAsk): Promise<WebSocket | undefined> {
    const agent = ask.task.agent_name ?? '';
    const dialled = this.waiting.expect(sessionId, agent);
    this.deps.gateway.sessions.get(agent)?.send({
      type: 'console.open',
      sessionId,
      taskId: ask.task.id,
      mode: ask.mode,
      command: ask.command,
      tty: ask.tty,
      size: { cols: ask.cols, rows: ask.rows },
      openedBy: ask.openedBy,
      ...(ask.client ? { client: ask.client } : {}),
    });
    return dialled;
  }

  /**
   * Another replica relaying a session it opened (token, role, project, task checked there, the
   * session stored): only with the replicas' relay credential, for an open session of a task
   * whose agent is connected here. The upgrade is answered once the agent dialled back, and the
   * two sockets are then piped as they are.
   */
  async handleReplicaUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer, sessionId: string): Promise<void> {
    if (!this.deps.relay.accepts(request)) {
      this.failures.failed(request.socket.remoteAddress, bearerOf(request) === undefined ? 'missing token' : 'invalid token', 'a replica relay');
      return refuseUpgrade(socket, 401, 'UNAUTHORIZED', 'a relay takes the replicas\' relay credential (derived from TAPIT_SECRET_KEY)');
    }
    let ask: AgentAsk;
    try {
      const session = await this.deps.db.selectFrom('console_sessions').selectAll().where('id', '=', sessionId).where('closed_at', 'is', null).executeTakeFirst();
      if (!session) throw new ApiError('NOT_FOUND', `no open console session ${sessionId}`);
      const task = await findTask(this.deps.db, session.task_id, null);
      if (task.status !== 'RUNNING') throw new ApiError('CONFLICT', `task ${task.id} is ${task.status}: only a RUNNING task has a console`);
      if (!this.deps.gateway.sessions.has(task.agent_name ?? '')) throw new ApiError('CONFLICT', `agent ${task.agent_name} of task ${task.id} is no longer connected to scheduler replica ${this.deps.schedulerId}`);
      const client = ConsoleClientId.safeParse(new URL(request.url ?? '/', 'http://x').searchParams.get('client') ?? undefined);
      ask = { task, mode: session.mode === 'exec' ? 'exec' : 'attach', command: session.command, tty: session.tty, cols: session.cols, rows: session.rows, openedBy: session.opened_by, client: client.success ? client.data : undefined };
    } catch (error) {
      const refusal = toApiError(error) ?? new ApiError('INTERNAL', 'internal error');
      if (refusal.code === 'INTERNAL') this.deps.log(`console relay: ${coerceError(error).message}`);
      return refuseUpgrade(socket, refusal.status, refusal.code, refusal.message, refusal.field);
    }
    const agent = await this.askAgent(sessionId, ask);
    if (!agent) return refuseUpgrade(socket, 409, 'CONFLICT', `agent ${ask.task.agent_name} did not open the session in time`);
    if (socket.destroyed) return void agent.close(1000, 'client gone');
    this.relays.handleUpgrade(request, socket, head, (relay) => pipeWebSockets(relay, agent));
  }

  /**
   * The agent dialling back for a session it was asked to open: with its own credential, and
   * only the agent that was asked (another one is told no such session waits for it).
   */
  async handleAgentUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer, sessionId: string): Promise<void> {
    const agent = await dialBackAgent({ db: this.deps.db, failures: this.failures, log: this.deps.log }, request, socket, 'console');
    if (agent === undefined) return;
    if (this.waiting.agentOf(sessionId) !== agent) return refuseUpgrade(socket, 404, 'NOT_FOUND', `no console session ${sessionId} is waiting for agent ${agent}`);
    this.agents.handleUpgrade(request, socket, head, (ws) => this.waiting.deliver(sessionId, ws));
  }

  close(): void {
    for (const ws of [...this.clients.clients, ...this.agents.clients, ...this.relays.clients]) ws.close(1001, 'scheduler shutting down');
    this.clients.close();
    this.agents.close();
    this.relays.close();
  }
}

/** A refused upgrade's HTTP answer, with the API's error body (and its Retry-After). */
function refuseWithAnswer(socket: Duplex, refusal: ApiError): void {
  const retry: Record<string, string> = refusal.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(refusal.retryAfterSeconds) };
  refuseUpgrade(socket, refusal.status, refusal.code, refusal.message, refusal.field, retry);
}
