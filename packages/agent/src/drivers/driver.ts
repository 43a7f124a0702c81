import type { Readable } from 'node:stream';
import type { Capacity, CopyErrorCode, LogRun, LogStream, PullAuth, ResourceUsage, TaskSpec, TerminalSize } from '@tapit/protocol';

/*
 * The contract between the task runner and a way of running containers (Nomad's driver plugin,
 * trimmed). A driver saves a versioned handle per task so a restarted agent can recover the task
 * instead of launching it again. Optional abilities are declared, not thrown as "unsupported".
 */

/** What a driver needs to find its task again; JSON, stored by the handle store. */
export interface TaskHandle {
  driver: string;
  version: number;
  [key: string]: unknown;
}

/** Where output reading stopped, opaque to the runner; JSON, stored with the log spool. */
export type OutputCursor = Record<string, unknown>;

export interface OutputLine {
  stream: Exclude<LogStream, 'system'>;
  text: string;
  at: string;
}

/**
 * Output as the task log carries it: lines of one stream and one millisecond together, each
 * followed by `\n` in `text` (LogRun). A program's line holds no `\n`; one longer than 64 KiB
 * comes in pieces of at most 64 KiB, each a line.
 */
export type OutputRun = LogRun & { stream: Exclude<LogStream, 'system'> };

/** How a task ended, as the driver saw it; the runner decides the stop code. */
export interface TaskEnd {
  exitCode: number | null;
  oomKilled: boolean;
  startedAt: string | null;
  finishedAt: string;
  usage: ResourceUsage;
  /**
   * Set when the task ended because its engine stopped or restarted under it (not on its own,
   * not by the OOM killer): the reason to report, e.g. `the Docker engine restarted`.
   */
  lostWithEngine: string | null;
}

/**
 * Whether the engine the driver runs containers on answers (Nomad's driver health, trimmed).
 * While it does not, the agent offers no capacity and holds the tasks it is given.
 */
export interface EngineHealth {
  /** For people: `Docker engine`. */
  readonly name: string;
  /** Null while the engine answers; else the cause, e.g. `connect ENOENT /var/run/docker.sock`. */
  readonly unreachable: string | null;
  /** Asks the engine now (e.g. after a call to it failed); resolves with what was found. */
  check(): Promise<string | null>;
  /** Called on every change of `unreachable`; returns the unsubscribe. */
  onChange(listener: (unreachable: string | null) => void): () => void;
  /** Resolves once the engine answers again (at once if it does). */
  reachable(): Promise<void>;
  /** Checks periodically from now on (and with backoff while the engine is away) until stop(). */
  start(): void;
  stop(): void;
}

/** Limits the runner enforces itself; kept by the driver too so adoption restores them. */
export interface TaskLimits {
  maxHours: number | null;
  ephemeralStorageGb: number | null;
}

/**
 * The TTY of an interactive task (`tty` capability), attached before the program starts and held
 * for its whole life. Output is raw bytes (a TTY merges stdout and stderr); the reader never
 * pauses, so a slow consumer cannot stall the program.
 */
export interface Terminal {
  /** Output from the attach on; what came before the first listener is held for it. */
  onOutput(listener: (chunk: Buffer) => void): void;
  /**
   * Screen output the engine logged from `since` until this terminal was attached (the tail of
   * it): what a restarted agent missed while nobody held the TTY.
   */
  backlog?(since: string): Promise<Buffer>;
  /** Resolves when the stream is over (the program ended, or the engine dropped it). */
  readonly closed: Promise<void>;
  write(data: Uint8Array): void;
  resize(size: TerminalSize): Promise<void>;
  /** Lets go of the stream without touching the program (agent shutdown). */
  release(): void;
}

/** A command run inside a running task (`exec` capability). */
export interface ExecProcess {
  /** Without a TTY stdout and stderr come apart; with one everything is `stdout`. */
  onOutput(listener: (stream: 'stdout' | 'stderr', chunk: Buffer) => void): void;
  write(data: Uint8Array): void;
  /** End of standard input (what a pipe's writer closing means). */
  closeStdin(): void;
  resize(size: TerminalSize): Promise<void>;
  /** Backpressure from the reader: a slow user slows only this command. */
  pause(): void;
  resume(): void;
  /** Resolves with the command's exit code once its output is drained. */
  wait(): Promise<number | null>;
  /** Drops the streams (the user went away); the command sees its input end. */
  release(): void;
}

export interface ExecOptions {
  command: string[];
  tty: boolean;
  size: TerminalSize;
}

export interface DriverTask {
  readonly handle: TaskHandle;
  /** The held TTY, for tasks created interactive (null otherwise, or once the engine lost it). */
  readonly terminal: Terminal | null;
  /** Runs a command in the task as its configured user; present with the `exec` capability. */
  exec?(options: ExecOptions): Promise<ExecProcess>;
  /** When the task really started running (null while not started). */
  startedAt(): Promise<string | null>;
  /**
   * Reads output from `from` (null: the very first byte) until the task has ended and its output
   * is drained. `onOutput` is called in order with the cursor just after that output.
   */
  streamOutput(from: OutputCursor | null, onOutput: (runs: OutputRun[], cursor: OutputCursor) => void): Promise<void>;
  /** A cursor that starts output at `time`, for when the saved one was lost. */
  cursorAt?(time: string): OutputCursor;
  /** Resolves once the task has ended. */
  wait(): Promise<TaskEnd>;
  /** Polite signal, then a forced kill after `graceSeconds`; enforced by the engine. */
  stop(graceSeconds: number): Promise<void>;
  /** Bytes written to the task's own filesystem, or null if unknown. */
  diskUsageBytes(): Promise<number | null>;
  /** Removes everything the task left behind; only after its end and logs are reported. */
  destroy(): Promise<void>;
}

export interface StartHooks {
  /** Progress for the task's log, e.g. image pull steps. */
  onSystemLine(text: string): void;
  /** Called once the task exists but before it runs: persist the handle now. */
  onCreated(handle: TaskHandle, imageDigest: string | null): void;
}

/**
 * What an assignment brought that the agent holds in memory only, never in its state folder:
 * the credentials to pull the task's image from its project's registry.
 */
export interface MemoryOnly {
  pullAuth?: PullAuth;
}

/** A start that failed for a reason the user should read (image not found, bad command). */
export class StartError extends Error {}

/** Why a file cannot be copied out of a task (`tapit cp`), in the protocol's words. */
export class CopyError extends Error {
  constructor(
    readonly code: CopyErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** One file of a task's container, its bytes read as they are taken. */
export interface CopiedFile {
  size: number;
  mode: number;
  bytes: Readable;
}

export interface AdoptableTask {
  taskId: string;
  handle: TaskHandle;
  limits: TaskLimits;
}

export interface TaskDriver {
  readonly name: string;
  readonly capabilities: { tty: boolean; exec: boolean; storageQuota: boolean };
  /** The engine's health, for drivers whose engine can go away under the agent. */
  readonly health?: EngineHealth;
  capacity(): Promise<Capacity>;
  /** How many tasks may run at once (e.g. so their PIDs limits fit the host); unlimited if absent. */
  maxTasks?(): number;
  /** Pulls, creates and starts; throws StartError with the engine's message when it cannot. */
  start(spec: TaskSpec, hooks: StartHooks, memoryOnly?: MemoryOnly): Promise<DriverTask>;
  /**
   * Finds a task again from its handle; null if it no longer exists. A task the agent left
   * created but not started is started now; if that fails, StartError (the task's failure).
   */
  recover(handle: TaskHandle): Promise<DriverTask | null>;
  /** Tasks of this agent the engine knows, for when the handle store was lost. */
  listOwned(): Promise<AdoptableTask[]>;
  /**
   * One regular file of a task's container, running or ended (`tapit cp`); CopyError when there
   * is none at `path`, it is no regular file, it is bigger than `maxBytes` or the container is gone.
   */
  copyFile?(handle: TaskHandle, path: string, maxBytes: number): Promise<CopiedFile>;
  /** Removes an ended task's container kept for copies (`keepSeconds`), by its handle; gone already is fine. */
  removeContainer?(handle: TaskHandle): Promise<void>;
}
