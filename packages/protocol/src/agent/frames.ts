import { z } from 'zod';
import { Name, TaskId, Timestamp } from '../common/ids.js';
import { Capacity, ResourceUsage } from '../common/resources.js';
import { ExitCode, StopCode } from '../common/status.js';
import { Labels } from '../common/labels.js';
import { LogRun, LogStream } from '../api/log-runs.js';
import { TaskSpec } from './task-spec.js';
import { ConsoleOpen } from '../pty/frames.js';
import { TaskCopy } from './copy-frames.js';

/*
 * Frames on the agent websocket (`/v1/agents/connect`), JSON text messages. One discriminated
 * union per direction; commands in the imperative (`task.assign`), events in the past tense
 * (`task.exited`). Every inbound frame is parsed with safeParse; a bad one closes only its
 * connection.
 */

/** A task the agent still holds when it (re)connects, and how far its log got. */
export const HeldTask = z.object({
  taskId: TaskId,
  /** Highest log sequence number the agent has produced for it. */
  lastSeq: z.number().int().nonnegative(),
  state: z.enum(['pending', 'running', 'exited']),
});
export type HeldTask = z.infer<typeof HeldTask>;

/**
 * Whether the agent can take work now. Not ready (e.g. its container engine does not answer):
 * it offers no capacity, and `reason` says why. Absent, as from agents before it: ready.
 */
export const AgentReadiness = z.object({
  ready: z.boolean(),
  reason: z.string().max(1000).nullable(),
});
export type AgentReadiness = z.infer<typeof AgentReadiness>;

/**
 * An agent's own secret, made by the agent at its first start and kept in its state folder. It
 * is registered (sent in `hello`) on a connection opened with a join token, and from then on is
 * what the agent opens its connections and console dial-backs with.
 */
export const AgentCredential = z.string().regex(/^[A-Za-z0-9_-]{32,128}$/, 'must be 32 to 128 characters of A-Z, a-z, 0-9, _ or -');

export const Hello = z.object({
  type: z.literal('hello'),
  protocolVersion: z.number().int().positive(),
  agentName: Name,
  agentVersion: z.string().max(100),
  capacity: Capacity,
  tasks: z.array(HeldTask).max(10000),
  readiness: AgentReadiness.optional(),
  /**
   * Set while the agent has not yet found its containers again (its engine did not answer at
   * its start): `tasks` lists only what its state folder holds, so a task missing from it is
   * not lost. The agent dials again once it has recovered.
   */
  recovering: z.boolean().optional(),
  /** The agent takes `heartbeat.ack` (added within version 1: sent only to agents that set this). */
  heartbeatAcks: z.boolean().optional(),
  /** On a connection opened with a join token: the credential to bind to this name. */
  credential: AgentCredential.optional(),
  /** Labels apps and tasks can require (TAPIT_AGENT_LABELS). */
  labels: Labels.optional(),
});

/**
 * Sent every `heartbeatIntervalMs`, and at once when the agent's readiness changes. `at` is the
 * agent's own clock, echoed in `heartbeat.ack`.
 */
export const Heartbeat = z.object({ type: z.literal('heartbeat'), at: Timestamp, readiness: AgentReadiness.optional() });

export const TaskAccepted = z.object({ type: z.literal('task.accepted'), taskId: TaskId });

/** The agent moved a task forward: PENDING (pulling/creating), RUNNING, STOPPING. */
export const TaskStatusChanged = z.object({
  type: z.literal('task.status'),
  taskId: TaskId,
  status: z.enum(['PENDING', 'RUNNING', 'STOPPING']),
  at: Timestamp,
  imageDigest: z.string().max(200).optional(),
});

export const LogEntry = z.object({
  stream: LogStream,
  text: z.string().max(1024 * 1024),
  at: Timestamp,
});
export type LogEntry = z.infer<typeof LogEntry>;

/** Lines `seq`, `seq + 1`, … of a task's log, in order. Re-sent chunks are dropped by seq. */
export const TaskLog = z.object({
  type: z.literal('task.log'),
  taskId: TaskId,
  seq: z.number().int().positive(),
  lines: z.array(LogEntry).min(1).max(10000),
});

/** Most runs in one `task.log.chunk` (its frame then stays under MAX_AGENT_FRAME_BYTES). */
export const MAX_CHUNK_RUNS = 4096;

/**
 * Lines `seq`, `seq + 1`, … of a task's log, in order, as runs: what `task.log` carries with a
 * JSON object per line. Sent only to a scheduler whose `welcome` says `logChunks`. Re-sent
 * chunks are dropped by seq, line by line.
 */
export const TaskLogChunk = z.object({
  type: z.literal('task.log.chunk'),
  taskId: TaskId,
  /** Positions and seqs are stored as 32-bit integers. */
  seq: z.number().int().positive().max(2147483647),
  runs: z.array(LogRun).min(1).max(MAX_CHUNK_RUNS),
});

export const TaskExited = z.object({
  type: z.literal('task.exited'),
  taskId: TaskId,
  stopCode: StopCode,
  exitCode: ExitCode.nullable(),
  reason: z.string().max(4000).nullable(),
  usage: ResourceUsage,
  startedAt: Timestamp.nullable(),
  finishedAt: Timestamp,
  /** Highest log seq of the task: the scheduler knows when its log is complete. */
  lastSeq: z.number().int().nonnegative(),
});

/**
 * After a restart the agent holds a task's spec without its env (never written to its state
 * folder): it asks for it again, once per connection, before the task starts or its output is
 * read. Only to a scheduler whose `welcome` says `taskEnv`.
 */
export const TaskEnvRequest = z.object({ type: z.literal('task.env.request'), taskId: TaskId });

export const AgentFrame = z.discriminatedUnion('type', [
  Hello,
  Heartbeat,
  TaskAccepted,
  TaskStatusChanged,
  TaskLog,
  TaskLogChunk,
  TaskExited,
  TaskEnvRequest,
]);
export type AgentFrame = z.infer<typeof AgentFrame>;

/**
 * The scheduler's clock around an answer, as NTP's server times: when the agent's frame arrived
 * and when the answer left. With its own send and receive times the agent works out its offset
 * from the scheduler and the round trip, whatever time the scheduler took in between.
 */
export const ClockReading = z.object({ receivedAt: Timestamp, sentAt: Timestamp });
export type ClockReading = z.infer<typeof ClockReading>;

/**
 * Cut off from the scheduler (nothing heard on a welcomed connection) for `afterSeconds`, the
 * agent stops every task it holds, giving each `stopGraceSeconds` between SIGTERM and SIGKILL:
 * the scheduler declares them AGENT_LOST only once they must have stopped.
 */
export const StopWhenCutOff = z.object({
  afterSeconds: z.number().int().positive(),
  stopGraceSeconds: z.number().int().nonnegative(),
});
export type StopWhenCutOff = z.infer<typeof StopWhenCutOff>;

export const Welcome = z.object({
  type: z.literal('welcome'),
  protocolVersion: z.number().int().positive(),
  agentName: Name,
  heartbeatIntervalMs: z.number().int().positive(),
  /** Per held task: the highest seq stored, so the agent re-sends from there. */
  acks: z.array(z.object({ taskId: TaskId, seq: z.number().int().nonnegative() })),
  /** Held tasks the scheduler has already finished or forgotten: stop and drop them. */
  drop: z.array(TaskId),
  /** The scheduler's clock around this answer to `hello` (optional: added within version 1). */
  clock: ClockReading.optional(),
  /** When to stop tasks on losing the scheduler (optional: added within version 1). */
  stopWhenCutOff: StopWhenCutOff.optional(),
  /** The scheduler takes `task.log.chunk` (optional: added within version 1); else `task.log` only. */
  logChunks: z.boolean().optional(),
  /** The scheduler answers `task.env.request` (optional: added within version 1). */
  taskEnv: z.boolean().optional(),
});

/** Answers each `heartbeat` of an agent that asked for it (`hello.heartbeatAcks`): the scheduler's clock. */
export const HeartbeatAck = z.object({
  type: z.literal('heartbeat.ack'),
  /** The heartbeat's own `at`, so the agent matches the answer to its send time. */
  at: Timestamp,
  clock: ClockReading,
});

/**
 * Credentials to pull a task's image, from its project's registry settings: sent in the
 * assignment to the one agent that pulls it, kept in its memory only (never in its state folder).
 */
export const PullAuth = z.object({ registry: z.string().max(255), username: z.string().max(256), password: z.string().max(4096) });
export type PullAuth = z.infer<typeof PullAuth>;

export const TaskAssign = z.object({ type: z.literal('task.assign'), task: TaskSpec, pullAuth: PullAuth.optional() });

export const TaskStop = z.object({
  type: z.literal('task.stop'),
  taskId: TaskId,
  stopCode: z.enum(['USER_STOPPED', 'TIMED_OUT', 'AGENT_LOST']),
  reason: z.string().max(4000),
  graceSeconds: z.number().int().nonnegative(),
});

/**
 * The answer to `task.env.request`, sent only to the agent the task is placed on: the task's env
 * and registry credentials as `task.assign` carries them, kept by the agent in memory only.
 */
export const TaskEnv = z.object({
  type: z.literal('task.env'),
  taskId: TaskId,
  env: TaskSpec.shape.env,
  secretKeys: z.array(z.string().max(255)).max(1000),
  /** A task not yet created pulls its image with these (absent: none, or a scheduler from before). */
  pullAuth: PullAuth.optional(),
  /**
   * Its secrets do not open on this scheduler (a key it lacks): a task not yet started fails to
   * start with this; a running one's output waits, unread, until an answer without it.
   */
  failure: z.string().max(4000).optional(),
});

/** All lines up to `seq` are stored; the agent may drop them from its spool. */
export const TaskLogAck = z.object({ type: z.literal('task.log.ack'), taskId: TaskId, seq: z.number().int().nonnegative() });

/** Sent before the scheduler closes a connection it refuses. */
export const Refused = z.object({
  type: z.literal('refused'),
  code: z.enum(['UNSUPPORTED_PROTOCOL_VERSION', 'BAD_FRAME', 'UNAUTHORIZED', 'NAME_IN_USE']),
  message: z.string(),
});

/**
 * A kept container (TaskSpec.keepSeconds) is no longer wanted (its task was deleted): remove it
 * now. Added within version 1; an agent that does not know it removes it when its time is up.
 */
export const TaskRemove = z.object({ type: z.literal('task.remove'), taskId: TaskId });

export const SchedulerFrame = z.discriminatedUnion('type', [Welcome, HeartbeatAck, TaskAssign, TaskStop, TaskLogAck, TaskEnv, Refused, ConsoleOpen, TaskCopy, TaskRemove]);
export type SchedulerFrame = z.infer<typeof SchedulerFrame>;

/**
 * The largest frame either side sends on the agent websocket. The biggest legitimate one is a log
 * chunk: the agent fills one with at most 512 Ki characters of text plus one line of at most 64
 * KiB (`task.log`), or 256 Ki characters plus one line in at most MAX_CHUNK_RUNS runs
 * (`task.log.chunk`), and JSON escaping makes a character at most 6 bytes (a control character
 * as \u0000), so a chunk stays under 3.5 MiB. A bigger frame closes the connection (websocket
 * code 1009).
 */
export const MAX_AGENT_FRAME_BYTES = 4 * 1024 * 1024;

/** Close codes of the agent websocket (4000–4999 are the application's). */
export const AgentCloseCode = {
  badFrame: 4400,
  unauthorized: 4401,
  unsupportedVersion: 4426,
  nameInUse: 4409,
  heartbeatTimeout: 4408,
  replaced: 4410,
} as const;
