import type { SchedulerMetrics } from '../metrics/scheduler-metrics.js';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  AgentCloseCode,
  AgentFrame,
  MAX_AGENT_FRAME_BYTES,
  PROTOCOL_VERSION,
  SUPPORTED_PROTOCOL_VERSIONS,
  describeIssues,
  type LogRun,
} from '@tapit/protocol';
import type { Kysely } from 'kysely';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Database } from '../db/schema.js';
import { coerceError, describeDatabaseError } from '../db/errors.js';
import { retryWhileUnavailable } from '../db/retry.js';
import { storeAgentChunk, storeAgentLog, type StoredChunk } from '../logs/repository.js';
import type { RecentChunks } from '../logs/recent-chunks.js';
import { encodeChunk, type EncodedChunk } from '../logs/chunk-body.js';
import type { TaskSignals } from '../tasks/task-signals.js';
import { transition, type StatusChange } from '../tasks/lifecycle.js';
import { isUnsendable, taskAssignments } from '../tasks/task-assignment.js';
import { taskEnvs } from '../env/task-env.js';
import { pullAuths } from '../registries/repository.js';
import type { SecretBox } from '../secrets/secret-box.js';
import { AgentSession } from './agent-session.js';
import { FrameLanes } from './frame-lanes.js';
import { stopWhenCutOff } from './cut-off.js';
import { authenticateAgent, bearerOf, type AgentAuth } from './agent-auth.js';
import { admitAgent } from './admission.js';
import { ownedBy, type TaskOwner } from './ownership.js';
import { toApiError } from '../http/api-error.js';
import { refuseUpgrade } from '../http/refuse-upgrade.js';
import type { AuthFailures } from '../auth/auth-failures.js';
import { markAgentOffline, ON_AGENT_STATUSES, setAgentsReadiness, touchAgents, type Readiness } from './repository.js';
import { notReadyReasonOf } from './agent-session.js';
import { reviewSessions, SESSION_CHECK_MS } from './session-watch.js';
import { applyAcceptedReports, applyExitReport, applyStatusReports, type AcceptedFrame, type Acceptance, type Report, type StatusFrame } from './task-reports.js';
import { reportQueue } from './report-queue.js';
import type { Log } from '../log.js';

export const AGENT_WEBSOCKET_PATH = '/v1/agents/connect';

type PreparedChunk = { runs: LogRun[]; encoded: Promise<EncodedChunk> };

/** A log chunk's runs as stored, and their encoding under way. */
function prepareChunk(frame: Extract<AgentFrame, { type: 'task.log.chunk' }>): PreparedChunk {
  const now = Date.now();
  // As for task.log: a run from the future is a clock the agent could not correct. Times are kept in UTC.
  const runs = frame.runs.map((run) => ({ ...run, at: new Date(Math.min(Date.parse(run.at), now)).toISOString() }));
  const encoded = encodeChunk(runs);
  encoded.catch(() => undefined); // awaited when stored; not, when the connection ends first
  return { runs, encoded };
}
const HELLO_TIMEOUT_MS = 10_000;
/**
 * Bytes of an agent's frames the scheduler holds unhandled at most before it stops reading the
 * connection: an agent sends at most eight full log frames (2 MiB) of a task ahead of their acks,
 * so this is a dozen or more tasks flooding at once, and what a hostile agent can make it hold.
 */
const MAX_QUEUED_FRAME_BYTES = 32 * 1024 * 1024;

/** The lane of a frame of a welcomed agent: its task's, or the agent's own (heartbeats). */
function laneOf(frame: Frame): string | null {
  if (frame.type === 'hello') return null;
  return 'taskId' in frame ? `task:${frame.taskId}` : 'agent';
}

function byteLength(data: RawData): number {
  return Array.isArray(data) ? data.reduce((n, piece) => n + piece.length, 0) : data.byteLength;
}

/** The session's agent as it owns tasks now (its `since` is read when the report is sent, not when it is applied). */
const ownerOf = (session: AgentSession): TaskOwner => ({ name: session.name, since: session.since });

type Pausable = { pause(): void; resume(): void };

/** Reading a socket stopped while any of its reasons asks (frames queued, the database away). */
function pausable(ws: WebSocket): Pausable {
  let reasons = 0;
  return {
    pause: () => {
      if (reasons++ === 0) ws.pause();
    },
    resume: () => {
      if (--reasons === 0) ws.resume();
    },
  };
}
/**
 * Connections authenticated but without a hello yet, and upgrades whose token is being looked
 * up: a join-token holder (or a stranger) cannot pile them up; welcomed agents are not counted.
 */
const MAX_UNWELCOMED = 64;

type Frame = AgentFrame;
type HelloFrame = Extract<Frame, { type: 'hello' }>;

export interface GatewayDeps {
  db: Kysely<Database>;
  /** Placement latency and log lines ingested (metrics/scheduler-metrics.ts). */
  metrics?: SchedulerMetrics;
  signals: TaskSignals;
  schedulerId: string;
  joinToken: string | undefined;
  heartbeatIntervalMs: number;
  /** Told to agents: cut off this long, they stop their tasks (cut-off.ts); also when a silent agent's name may be re-bound. */
  agentLostGraceSeconds: number;
  /** Agent connections this replica holds at most (TAPIT_MAX_AGENT_CONNECTIONS). */
  maxConnections: number;
  /** Opens the stored secrets an assignment carries. */
  secrets: SecretBox;
  log: Log;
  /** Failed authentications per address, logged and slowed with the API's. */
  authFailures?: AuthFailures;
  /** Log chunks stored here last, for this replica's followers. */
  recentChunks?: RecentChunks;
  /** TAPIT_LOG_MAX_BYTES_PER_TASK: a task's output past it is dropped (and acknowledged). */
  logMaxBytesPerTask?: number;
  /** Resolves once this replica's followers of a task have read its log as stored now (FollowHub.read, bounded). */
  followersRead?: (taskId: string) => Promise<void>;
}

/**
 * The agents' websocket endpoint on this replica: handshake, frame dispatch, liveness. It keeps
 * the sessions placement uses; it never places or stops anything itself.
 */
export class AgentGateway {
  readonly sessions = new Map<string, AgentSession>();
  /** The key the control loop's assignments open stored secrets with. */
  get secrets(): SecretBox {
    return this.deps.secrets;
  }
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_AGENT_FRAME_BYTES });
  private readonly timer: NodeJS.Timeout;
  /** Connections with frames waiting for the database (how many): not read, so not judged silent. */
  private readonly held = new Map<WebSocket, number>();
  private heartbeatsFailing = false;
  private readonly watchTimer: NodeJS.Timeout;
  private readonly startedAt = Date.now();
  /** Upgrades whose token is being looked up. */
  private authenticating = 0;
  /** Sockets upgraded and not yet welcomed. */
  private unwelcomed = 0;
  /** Every agent's `task.accepted` and `task.status` reports, applied together (report-queue.ts). */
  private readonly acceptances = reportQueue<Report<AcceptedFrame>, Acceptance | undefined>((reports) => applyAcceptedReports(this.deps.db, reports), (report) => report.frame.taskId);
  private readonly statuses = reportQueue<Report<StatusFrame>, StatusChange | undefined>((reports) => applyStatusReports(this.deps.db, reports), (report) => report.frame.taskId);
  /** Agents' readiness changes, applied together the same way. */
  private readonly readiness = reportQueue<Readiness, void>(async (changes) => {
    await setAgentsReadiness(this.deps.db, this.deps.schedulerId, changes);
    return changes.map(() => undefined);
  }, (change) => change.name);

  constructor(private readonly deps: GatewayDeps) {
    // Liveness and the one batched last_seen write per interval.
    this.timer = setInterval(() => void this.checkLiveness(), deps.heartbeatIntervalMs);
    this.timer.unref();
    this.watchTimer = setInterval(() => void this.review().catch(() => undefined), SESSION_CHECK_MS);
    this.watchTimer.unref();
  }

  /**
   * Refuses a bad token before the upgrade, so nothing unauthenticated reaches a socket: an
   * agent's own credential, or a join token that may still admit one.
   */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.wss.clients.size + this.authenticating >= this.deps.maxConnections) {
      return refuseUpgrade(socket, 503, 'SERVER_BUSY', `this scheduler holds its most agent connections (${this.deps.maxConnections}): try another replica or later`);
    }
    if (this.authenticating + this.unwelcomed >= MAX_UNWELCOMED) return refuseUpgrade(socket, 503, 'SERVER_BUSY', 'too many agent connections are starting at once: try again shortly');
    this.authenticating++;
    authenticateAgent(this.deps.db, bearerOf(request), this.deps.joinToken)
      .then(
        (auth) => {
          this.authenticating--;
          if (!auth) {
            this.deps.authFailures?.failed(request.socket.remoteAddress, 'invalid token', 'the agent websocket');
            return refuseUpgrade(socket, 401, 'UNAUTHORIZED', 'invalid agent credential or join token (a join token may be used up, expired or revoked)');
          }
          const welcomed = this.countUnwelcomed();
          const source = request.socket.remoteAddress ?? null;
          this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws, auth, welcomed, source));
          // An upgrade that fails (the client went away) never calls back: give its place back.
          if (socket.destroyed) welcomed();
          else socket.once('close', welcomed);
        },
        (error) => {
          this.authenticating--;
          // The agent dials again with backoff: a database away for a while costs it only waiting.
          // A domain refusal is answered as the API answers it.
          const refusal = toApiError(error);
          if (refusal) return refuseUpgrade(socket, refusal.status, refusal.code, refusal.message, refusal.field);
          this.deps.log(`agent upgrade: ${coerceError(error).message}`, 'warn');
          refuseUpgrade(socket, 500, 'INTERNAL', 'internal error; the scheduler log has the details');
        },
      );
  }

  /**
   * Counts one more unwelcomed connection until the function returned is called (once). Made in a
   * scope of its own: the connection's listeners keep that function as long as it lives, and a
   * closure made beside the upgrade's would keep the upgrade request with it (its headers and
   * buffers, about 1.5 KB per connected agent).
   */
  private countUnwelcomed(): () => void {
    this.unwelcomed++;
    let counted = true;
    return () => {
      if (counted) this.unwelcomed--;
      counted = false;
    };
  }

  /** Ends the session of `name` on this replica now if the agents table says so (revoke, delete, settings). */
  async refresh(name: string): Promise<void> {
    const session = this.sessions.get(name);
    if (session) await reviewSessions(this.deps.db, [session], this.deps.schedulerId, this.deps.log);
  }

  private async review(): Promise<void> {
    await reviewSessions(this.deps.db, [...this.sessions.values()], this.deps.schedulerId, this.deps.log);
  }

  private accept(ws: WebSocket, auth: AgentAuth, welcomed: () => void, source: string | null): void {
    let session: AgentSession | undefined;
    let helloReceived = false;
    const reading = pausable(ws);
    // A task's frames are handled one at a time, in order (log chunks and exits must not
    // overtake), beside other tasks' frames: a flooding task holds back only its own.
    const lanes = new FrameLanes({
      maxBytes: MAX_QUEUED_FRAME_BYTES,
      pause: reading.pause,
      resume: reading.resume,
      // Not the database being away (a bug, a bad row): the agent reconnects and re-sends
      // from its spool what was not acknowledged.
      onError: (error) => {
        this.deps.log(`agent connection error: ${coerceError(error).message}`);
        ws.close(1011, 'internal error');
      },
    });
    const helloTimer = setTimeout(() => ws.close(AgentCloseCode.badFrame, 'no hello'), HELLO_TIMEOUT_MS);
    let lastHeard = Date.now();
    ws.on('pong', () => {
      lastHeard = Date.now();
      if (session) session.lastHeardAt = lastHeard;
    });
    ws.on('message', (data: RawData) => {
      lastHeard = Date.now();
      if (session) session.lastHeardAt = lastHeard;
      // NTP's server receive time: the agent reads the scheduler's clock from the answer.
      const receivedAt = new Date(lastHeard).toISOString();
      // Read as it arrives, while earlier frames are stored; acted on in order below. A log
      // chunk's compression starts now too, in the thread pool.
      const read = this.read(data);
      const prepared = 'frame' in read && read.frame.type === 'task.log.chunk' ? prepareChunk(read.frame) : undefined;
      const work = async () => {
        if ('refusal' in read) return this.refuse(ws, 'BAD_FRAME', read.refusal, AgentCloseCode.badFrame);
        const { frame } = read;
        if (!session) {
          if (frame.type !== 'hello') return this.refuse(ws, 'BAD_FRAME', 'the first frame must be hello', AgentCloseCode.badFrame);
          clearTimeout(helloTimer);
          session = await this.untilStored(ws, reading, frame, () => this.hello(ws, frame, auth, receivedAt, source));
          welcomed();
          return;
        }
        const current = session;
        await this.untilStored(ws, reading, frame, () => this.dispatch(current, frame, receivedAt, prepared));
      };
      // Up to the hello, and for a frame that is bad or names no task but the hello, the whole
      // connection waits: the session exists before any frame is acted on.
      const lane = helloReceived && 'frame' in read ? laneOf(read.frame) : null;
      if ('frame' in read && read.frame.type === 'hello') helloReceived = true;
      if (lane === null) lanes.barrier(byteLength(data), work);
      else lanes.push(lane, byteLength(data), work);
    });
    ws.on('close', () => {
      clearTimeout(helloTimer);
      this.held.delete(ws);
      welcomed();
      if (session && this.sessions.get(session.name) === session) {
        this.sessions.delete(session.name);
        this.deps.log(`agent ${session.name} disconnected`);
        const { name, lastHeardAt } = session;
        lanes.barrier(0, () => markAgentOffline(this.deps.db, name, this.deps.schedulerId, Date.now() - lastHeardAt).catch(() => {}));
      }
    });
    ws.on('error', () => ws.terminate());
  }

  /**
   * Runs a frame's work, and while the database cannot be reached, tries it again with backoff
   * instead of failing the connection: reading from the agent pauses meanwhile, so its frames
   * wait in its own spool and socket (backpressure, not memory here), in order. Every frame's
   * work is safe to repeat: log chunks carry their seq (a stored line is not stored again),
   * reports are guarded on the task's status, the hello reconciles from what is stored.
   */
  private async untilStored<T>(ws: WebSocket, reading: Pausable, frame: Frame, work: () => Promise<T>): Promise<T> {
    let waiting = false;
    try {
      return await retryWhileUnavailable(work, {
        giveUp: () => ws.readyState !== ws.OPEN,
        onWait: (error) => {
          if (waiting) return;
          waiting = true;
          const held = (this.held.get(ws) ?? 0) + 1;
          this.held.set(ws, held);
          reading.pause();
          if (held === 1) this.deps.log(`agent frames: the database is unavailable (${describeDatabaseError(error)}); ${frame.type} waits, and the agent's next frames with it`, 'warn');
        },
      });
    } finally {
      if (waiting) {
        const held = (this.held.get(ws) ?? 1) - 1;
        if (held > 0) this.held.set(ws, held);
        else {
          this.held.delete(ws);
          if (ws.readyState === ws.OPEN) this.deps.log(`agent frames: the database answers again; ${frame.type} and what followed it are stored`);
        }
        reading.resume();
      }
    }
  }

  /** A frame as it came: parsed, or why it is refused. */
  private read(data: RawData): { frame: Frame } | { refusal: string } {
    let json: unknown;
    try {
      json = JSON.parse(data.toString());
    } catch {
      return { refusal: 'frame is not JSON' };
    }
    const result = AgentFrame.safeParse(json);
    return result.success ? { frame: result.data } : { refusal: describeIssues(result.error) };
  }

  private refuse(ws: WebSocket, code: 'BAD_FRAME' | 'UNSUPPORTED_PROTOCOL_VERSION' | 'NAME_IN_USE' | 'UNAUTHORIZED', message: string, closeCode: number): void {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: 'refused', code, message }));
    ws.close(closeCode, code);
  }

  private async hello(ws: WebSocket, hello: HelloFrame, auth: AgentAuth, receivedAt: string, source: string | null): Promise<AgentSession | undefined> {
    const { db } = this.deps;
    if (!SUPPORTED_PROTOCOL_VERSIONS.includes(hello.protocolVersion)) {
      this.refuse(
        ws,
        'UNSUPPORTED_PROTOCOL_VERSION',
        `protocol version ${hello.protocolVersion} is not supported; this scheduler speaks ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')}`,
        AgentCloseCode.unsupportedVersion,
      );
      return undefined;
    }
    const admission = await admitAgent(db, auth, hello, {
      schedulerId: this.deps.schedulerId,
      heartbeatIntervalMs: this.deps.heartbeatIntervalMs,
      agentLostGraceSeconds: this.deps.agentLostGraceSeconds,
      connectedHere: this.sessions.has(hello.agentName),
      notReadyReason: notReadyReasonOf(hello.readiness),
      listenedLongEnough: Date.now() - this.startedAt >= this.deps.agentLostGraceSeconds * 1000,
      environmentJoinToken: this.deps.joinToken,
      source,
    });
    if (!admission.admitted) {
      this.deps.log(`agent ${hello.agentName} refused (${admission.code}): ${admission.message}`);
      this.refuse(ws, admission.code, admission.message, admission.closeCode);
      return undefined;
    }
    if (admission.bound !== 'kept') this.deps.log(`agent ${hello.agentName} ${admission.bound === 'new' ? 'joined' : 'took over its name'} with join token ${admission.joinedWith}`);
    // Placement sees the session only once it is reconciled and welcomed (set at the end), so a
    // failed hello leaves nothing behind and nothing is assigned before the welcome.
    const session = new AgentSession(hello.agentName, hello.capacity, ws, hello.readiness);
    session.heartbeatAcks = hello.heartbeatAcks === true;
    session.since = admission.since;
    session.labels = hello.labels ?? {};
    session.credentialHash = admission.credentialHash;
    session.apply(admission.settings);

    // Reconcile what the agent holds with what the database says it should. Only tasks placed
    // on this agent itself count: whatever else it lists is dropped alike, known or not.
    const held = new Map(hello.tasks.map((t) => [t.taskId, t]));
    const placed = await db.selectFrom('tasks').selectAll().where(ownedBy(session)).where('status', 'in', [...ON_AGENT_STATUSES]).execute();
    const heldRows =
      held.size > 0 ? await db.selectFrom('tasks').select(['id', 'status', 'last_agent_seq']).where('id', 'in', [...held.keys()]).where(ownedBy(session)).execute() : [];
    const known = new Map(heldRows.map((r) => [r.id, r]));
    const acks: { taskId: string; seq: number }[] = [];
    const drop: string[] = [];
    for (const taskId of held.keys()) {
      const row = known.get(taskId);
      if (!row) {
        drop.push(taskId);
        continue;
      }
      acks.push({ taskId, seq: row.last_agent_seq });
      if (row.status === 'STOPPED') drop.push(taskId); // finished here (lost, timed out): stop it there
    }
    const reassign = [];
    for (const row of placed) {
      session.hold(row.id, { cpu: row.cpu, memoryGb: row.memory_gb });
      if (held.has(row.id)) continue;
      // A recovering agent lists only its state folder: a task missing from it may still run.
      if (hello.recovering) continue;
      if (row.status === 'PENDING') {
        reassign.push(row); // the assignment never arrived: send it again
      } else {
        await transition(db, row.id, {
          from: ['RUNNING', 'STOPPING'],
          patch: { status: 'STOPPED', desired_status: 'STOPPED', stop_code: 'AGENT_LOST', stop_reason: `agent ${session.name} came back without this task`, finished_at: new Date() },
        });
        session.release(row.id);
        this.deps.signals.taskChanged(row.id);
      }
    }
    const resend = await taskAssignments({ db, secrets: this.deps.secrets }, reassign);
    // The connection may have gone while the database was asked; its close found no session
    // yet. Kept, it would be listed online and handed tasks it never gets.
    if (ws.readyState !== ws.OPEN) {
      if (!this.sessions.has(session.name)) await markAgentOffline(db, session.name, this.deps.schedulerId, Date.now() - session.lastHeardAt);
      return undefined;
    }
    session.send({
      type: 'welcome',
      protocolVersion: PROTOCOL_VERSION,
      agentName: session.name,
      heartbeatIntervalMs: this.deps.heartbeatIntervalMs,
      acks,
      drop,
      clock: { receivedAt, sentAt: new Date().toISOString() },
      stopWhenCutOff: stopWhenCutOff(this.deps.agentLostGraceSeconds),
      logChunks: true,
      taskEnv: true,
    });
    // A reconnecting agent replaces its old (maybe half-open) connection.
    this.sessions.get(session.name)?.close(AgentCloseCode.replaced, 'replaced by a new connection');
    this.sessions.set(session.name, session);
    for (const frame of resend) {
      if (isUnsendable(frame)) this.deps.log(`task ${frame.taskId} not sent again to agent ${session.name}: ${frame.failure}`);
      else session.send(frame);
    }
    const notReady = session.notReadyReason === null ? '' : `, not ready: ${session.notReadyReason}`;
    this.deps.log(`agent ${session.name} connected (cpu ${session.capacity.cpu}, memory ${session.capacity.memoryGb} GB, ${hello.tasks.length} tasks held${notReady}${session.drained ? ', drained' : ''})`);
    this.deps.signals.workAvailable();
    return session;
  }

  private async dispatch(session: AgentSession, frame: Frame, receivedAt: string, prepared?: PreparedChunk): Promise<void> {
    const { db, signals } = this.deps;
    switch (frame.type) {
      case 'hello':
        return this.refuse(session.socket, 'BAD_FRAME', 'hello was already sent', AgentCloseCode.badFrame);
      case 'heartbeat': {
        if (session.heartbeatAcks) session.send({ type: 'heartbeat.ack', at: frame.at, clock: { receivedAt, sentAt: new Date().toISOString() } });
        if (!frame.readiness) return;
        const reason = notReadyReasonOf(frame.readiness);
        if (reason === session.notReadyReason) return;
        session.notReadyReason = reason;
        this.deps.log(reason === null ? `agent ${session.name} is ready` : `agent ${session.name} is not ready: ${reason}`);
        await this.readiness.submit({ name: session.name, notReadyReason: reason });
        if (reason === null) signals.workAvailable();
        return;
      }
      case 'task.accepted': {
        const accepted = await this.acceptances.submit({ owner: ownerOf(session), frame });
        // Placement latency once per task: an agent accepts a re-sent assignment again.
        if (accepted?.first) this.deps.metrics?.accepted(accepted.createdAt);
        return;
      }
      case 'task.status': {
        if (await this.statuses.submit({ owner: ownerOf(session), frame })) signals.taskChanged(frame.taskId);
        return;
      }
      case 'task.log': {
        const stored = await storeAgentLog(
          db,
          session.name,
          frame.taskId,
          frame.seq,
          // A line from the future is a clock the agent could not correct: it is stored as now.
          frame.lines.map((l) => ({ stream: l.stream, text: l.text, at: new Date(Math.min(Date.parse(l.at), Date.now())) })),
          session.since,
          { maxBytes: this.deps.logMaxBytesPerTask },
        );
        if (stored === undefined) return; // deleted task: nothing to keep
        this.deps.metrics?.ingested(frame.lines.length, frame.lines.reduce((sum, line) => sum + line.text.length, 0));
        session.send({ type: 'task.log.ack', taskId: frame.taskId, seq: stored });
        signals.taskChanged(frame.taskId);
        return;
      }
      case 'task.log.chunk': {
        const { runs, encoded } = prepared ?? prepareChunk(frame);
        const onStored = (chunk: StoredChunk) => this.deps.recentChunks?.remember(frame.taskId, chunk);
        const stored = await storeAgentChunk(db, session.name, frame.taskId, frame.seq, runs, session.since, { encoding: encoded, onStored, maxBytes: this.deps.logMaxBytesPerTask });
        if (stored === undefined) return;
        this.deps.metrics?.ingested(runs.reduce((sum, run) => sum + run.lines, 0), runs.reduce((sum, run) => sum + run.text.length, 0));
        session.send({ type: 'task.log.ack', taskId: frame.taskId, seq: stored });
        signals.taskChanged(frame.taskId);
        return;
      }
      case 'task.env.request': {
        // Only the agent the task is placed on gets its env again; another gets an empty one
        // (nothing leaks, and it stops waiting for it).
        const row = await db
          .selectFrom('tasks')
          .innerJoin('apps', 'apps.id', 'tasks.app_id')
          .select(['tasks.id', 'tasks.app_id', 'tasks.env_sealed', 'tasks.image', 'apps.project'])
          .where('tasks.id', '=', frame.taskId)
          // A task it holds now: not the current secrets of one it ran long ago.
          .where('tasks.status', 'in', [...ON_AGENT_STATUSES])
          .where(ownedBy(session))
          .executeTakeFirst();
        const [env] = row ? await taskEnvs(db, this.deps.secrets, [row]) : [{ env: {}, secretKeys: [] }];
        if ('failure' in env!) this.deps.log(`task ${frame.taskId}: its env is not sent again to agent ${session.name}: ${env!.failure}`);
        // Its registry credentials too: a task not yet created when its agent restarted pulls with them.
        const pullAuth = row ? (await pullAuths(db, this.deps.secrets, [row])).get(row.id)?.auth : undefined;
        session.send({ type: 'task.env', taskId: frame.taskId, ...('failure' in env! ? { env: {}, secretKeys: [], failure: env!.failure } : env!), ...(pullAuth ? { pullAuth } : {}) });
        return;
      }
      case 'task.exited': {
        const stopped = await applyExitReport(db, session, frame);
        session.release(frame.taskId);
        if (!stopped) {
          const seq = await db.selectFrom('tasks').select('last_agent_seq').where('id', '=', frame.taskId).where(ownedBy(session)).executeTakeFirst();
          // Acknowledges the exit too: once this covers lastSeq the agent may remove the container.
          // A task not its own (gone, or another agent's) gets its own number back: nothing leaks.
          session.send({ type: 'task.log.ack', taskId: frame.taskId, seq: seq?.last_agent_seq ?? frame.lastSeq });
          return;
        }
        signals.taskChanged(frame.taskId);
        // Its followers here read the end first (a `--wait` ends with it), then placement and the
        // ack, which lets the agent remove the container: the engine's removal and a placement
        // would take the CPU and the (embedded) database that the followers' last read needs.
        // Not awaited (the task's lane has nothing after its exit), and nothing in it can fail:
        // the ack's number is the stored row's.
        const ack = { type: 'task.log.ack', taskId: frame.taskId, seq: stopped.last_agent_seq } as const;
        void (this.deps.followersRead?.(frame.taskId) ?? Promise.resolve())
          .then(() => {
            signals.workAvailable();
            session.send(ack);
          })
          .catch((error: unknown) => this.deps.log(`task ${frame.taskId}: its exit's ack: ${coerceError(error).message}`, 'warn'));
        return;
      }
    }
  }

  /** Pings every agent; closes those silent for three intervals; records who is alive. */
  private async checkLiveness(): Promise<void> {
    const now = Date.now();
    const limit = now - 3 * this.deps.heartbeatIntervalMs;
    const alive: { name: string; silentMs: number }[] = [];
    for (const session of this.sessions.values()) {
      // Its pongs wait unread behind a frame the database could not take yet: not silence.
      if (this.held.has(session.socket)) session.lastHeardAt = Date.now();
      if (session.lastHeardAt < limit) {
        this.deps.log(`agent ${session.name} silent for ${Math.round((now - session.lastHeardAt) / 1000)} s: closing`);
        session.terminate();
        continue;
      }
      session.ping();
      alive.push({ name: session.name, silentMs: now - session.lastHeardAt });
    }
    await touchAgents(this.deps.db, alive, this.deps.schedulerId).then(
      () => (this.heartbeatsFailing = false),
      (error) => {
        // Once per outage: the control loop gives agents a new grace period after one.
        if (!this.heartbeatsFailing) this.deps.log(`could not record agent heartbeats: ${coerceError(error).message}`, 'warn');
        this.heartbeatsFailing = true;
      },
    );
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.watchTimer);
    for (const session of this.sessions.values()) session.close(1001, 'scheduler shutting down');
    this.wss.close();
  }
}
