import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { LogEntry, PullAuth, StopCode, TaskSpec } from '@tapit/protocol';
import { ConsoleHub, screenEndFile, screenSavedAt } from '../consoles/console-hub.js';
import { StartError, type DriverTask, type MemoryOnly, type OutputCursor, type OutputRun, type TaskDriver, type TaskEnd, type TaskHandle } from '../drivers/driver.js';
import type { SchedulerClock } from '../connection/scheduler-clock.js';
import { errorMessage, log } from '../log.js';
import { agentMetrics } from '../metrics/agent-metrics.js';
import { CHUNK_CHARS, LogSpool } from '../streams/log-spool.js';
import { SecretMask } from '../streams/secret-mask.js';
import type { HandleStore, TaskRecord } from './handle-store.js';
import type { KeptContainers } from './kept-containers.js';
import { msLeftOf, setLongTimeout, storageLimitBytes } from './limits.js';
import type { Outbox } from './outbox.js';
import { decideStop } from './stop-reason.js';

export interface TaskRunDeps {
  driver: TaskDriver;
  store: HandleStore;
  stopGraceSeconds: number;
  storageCheckMs: number;
  spoolMemoryBytes: number;
  /** An interactive task nobody is attached to for this long is stopped (TIMED_OUT). */
  consoleGraceSeconds: number;
  /** A task assigned while the engine is away is held this long for it, then FAILED_TO_START. */
  engineWaitSeconds: number;
  /** Called once the task is reported, acknowledged and cleaned up. */
  onForgotten(taskId: string): void;
  /** Where ended tasks' containers are kept for copies (TaskSpec.keepSeconds); absent: removed at once. */
  kept?: Pick<KeptContainers, 'keep'>;
  /**
   * Times are kept on this agent's clock (the spool, the record) and reported on the
   * scheduler's, converted as they are sent.
   */
  clock: Pick<SchedulerClock, 'synced' | 'now' | 'toScheduler'>;
}

/** Backpressure: stop reading the spool into the socket above this many queued bytes. */
const MAX_BUFFERED = 4 * 1024 * 1024;
/**
 * Output is gathered this long (from its first line) before it is spooled and sent, unless a
 * chunk's worth comes sooner: a quiet task's line leaves within it, a fast one's in big chunks.
 */
const OUTPUT_BATCH_MS = 5;
/**
 * Log frames sent ahead of their acks. Past two, lines wait for an ack and leave together in
 * the next frame, unless they fill one: when the scheduler is slower than the task, its frames
 * grow and it stores fewer, bigger chunks instead of falling behind on many small ones. Past
 * eight (2 MiB of full frames), everything waits: what the scheduler holds unread stays bounded.
 */
const FRAMES_IN_FLIGHT = 2;
const FULL_FRAMES_IN_FLIGHT = 8;

/**
 * One task on this agent, from assignment (or recovery) until the scheduler has its whole log
 * and its exit. Its record and spool on disk are the truth; memory only adds the connection.
 */
export class TaskRun {
  readonly spool: LogSpool;
  private task: DriverTask | null = null;
  private hub: ConsoleHub | null = null;
  private outbox: Outbox | null = null;
  private sentSeq = 0;
  /** Last seq of each log frame sent and not acknowledged yet, oldest first. */
  private inFlight: number[] = [];
  private exitSent = false;
  private status: 'PENDING' | 'RUNNING' | 'STOPPING' = 'PENDING';
  private statusAt = new Date().toISOString();
  private timers: { clear(): void }[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private forgetting = false;
  /** Set at agent shutdown: late callbacks must not touch the closed spool. */
  private closed = false;
  /** Adopted without state: output waits for the scheduler's ack to know where the log stands. */
  private awaitingBase: boolean;
  /** Ends the wait of a task held for its engine (a stop, or the task dropped). */
  private wakeHeld: (() => void) | null = null;
  /** The task's env, in memory only (its record on disk never holds it); null until known. */
  private env: Record<string, string> | null = null;
  /** Its secret values, replaced in its output before the output is spooled. */
  private mask = new SecretMask([]);
  /** Why the scheduler could not give the env again: a task not yet started fails to start with it. */
  private envFailure: string | null = null;
  /** Registry credentials given with the env after a restart, for a task not yet created (memory only). */
  private pullAuth: PullAuth | undefined;
  private envGiven: () => void = () => undefined;
  /** Resolves once the env is known: the task starts, and its output is read, only then. */
  private readonly envReady: Promise<void>;

  constructor(
    private record: TaskRecord,
    private readonly deps: TaskRunDeps,
    options: { awaitingBase?: boolean; env?: { env: Record<string, string>; secretKeys: string[] } } = {},
  ) {
    this.spool = LogSpool.open(deps.store.dir, record.taskId, deps.spoolMemoryBytes);
    this.awaitingBase = options.awaitingBase ?? false;
    // Created up front: the welcome that resolves it may come before watch() waits on it.
    this.base = this.awaitingBase ? new Promise((resolve) => (this.baseReady = resolve)) : Promise.resolve();
    if (record.state === 'running') this.status = record.stop ? 'STOPPING' : 'RUNNING';
    this.envReady = new Promise((resolve) => (this.envGiven = resolve));
    // A record from before env was withheld holds it; an exited task needs none.
    if (options.env) this.provideEnv(options.env.env, options.env.secretKeys);
    else if (record.envWithheld !== true || record.state === 'exited') this.provideEnv(record.spec?.env ?? {}, record.spec?.secretKeys ?? []);
  }

  /** The task's env, from its assignment or the scheduler's answer after a restart (kept in memory). */
  provideEnv(env: Record<string, string>, secretKeys: readonly string[], pullAuth?: PullAuth): void {
    if (this.env !== null) return;
    this.env = env;
    this.pullAuth = pullAuth;
    this.mask = new SecretMask(secretKeys.map((key) => env[key]).filter((value): value is string => value !== undefined));
    this.envGiven();
  }

  /**
   * The scheduler could not open the task's secrets (a key it lacks). A task not yet started fails
   * to start; a running one's output is not read (it stays in the engine) until a later connection
   * gets the env, so no secret reaches the spool unmasked.
   */
  envRefused(reason: string): void {
    if (this.env !== null) return;
    if (this.record.state === 'pending' && !this.task) {
      this.envFailure = `its env could not be given again after the agent restarted: ${reason}`;
      this.envGiven();
      return;
    }
    log('task.env-refused', { task: this.taskId, reason });
  }

  get taskId(): string {
    return this.record.taskId;
  }

  get state(): TaskRecord['state'] {
    return this.record.state;
  }

  get interactive(): boolean {
    return this.record.spec?.kind === 'interactive' || this.task?.terminal != null;
  }

  /** The console of a running interactive task. */
  get console(): ConsoleHub | null {
    return this.record.state === 'running' ? this.hub : null;
  }

  /** The task to exec into, while it runs. */
  /** The task's container, to copy a file from (null before it was created). */
  get handle(): TaskHandle | null {
    return this.task?.handle ?? (this.record.handle as TaskHandle | null);
  }

  execTarget(): DriverTask | null {
    return this.record.state === 'running' && !this.closed ? this.task : null;
  }

  /** A new assignment: pull, create, start, then watch. */
  async start(spec: TaskSpec, memoryOnly: MemoryOnly = {}): Promise<void> {
    this.setStatus('PENDING');
    await this.envReady;
    if (this.forgetting || this.closed) return;
    if (this.envFailure !== null) return this.failToStart(this.envFailure);
    spec = { ...spec, env: this.env ?? {} };
    // Launched again after a restart, the task has only what the scheduler sent with its env.
    memoryOnly = { pullAuth: memoryOnly.pullAuth ?? this.pullAuth };
    if (spec.kind === 'interactive' && !this.deps.driver.capabilities.tty) {
      // Without a TTY a console would read end-of-input and exit at once, looking like success.
      return this.failToStart(`this agent's ${this.deps.driver.name} driver cannot run interactive tasks yet (no TTY support)`);
    }
    const health = this.deps.driver.health;
    const heldSince = Date.now();
    for (;;) {
      const unreachable = await this.untilEngine(heldSince);
      if (this.forgetting || this.closed) return;
      if (unreachable !== null) {
        return this.failToStart(`the ${health!.name} was unreachable for ${this.deps.engineWaitSeconds} s (${unreachable})`);
      }
      // Stopped while it waited for its engine: it never ran (once created, the watch stops it).
      if (this.record.stop && !this.record.handle) return this.finish({ ...this.record.stop, exitCode: null, startedAt: null });
      try {
        this.task = await this.deps.driver.start(spec, {
          onSystemLine: (text) => this.system(text),
          onCreated: (handle, imageDigest) => this.save({ handle, imageDigest }),
        }, memoryOnly);
        agentMetrics.containerStarted();
        if (this.forgetting) return void (await this.task.destroy()); // dropped while starting
        break;
      } catch (error) {
        // The engine went away under the start: hold the task and start it again once it is back
        // (the container is named after the task, so a second start carries on with the first).
        if (health && (await health.check()) !== null) continue;
        const reason = errorMessage(error);
        if (!(error instanceof StartError)) log('task.start-error', { task: this.taskId, error: reason });
        return this.failToStart(reason);
      }
    }
    await this.watch();
  }

  /**
   * Holds a new task (PENDING) while the engine is away, until it answers, the task is stopped or
   * dropped, or `engineWaitSeconds` from `since` pass. Resolves with the engine's trouble if it
   * is still away then, else null.
   */
  private async untilEngine(since: number): Promise<string | null> {
    const health = this.deps.driver.health;
    if (!health || health.unreachable === null) return null;
    const left = since + this.deps.engineWaitSeconds * 1000 - Date.now();
    if (left > 0 && !this.record.stop) {
      this.system(`Waiting for the ${health.name} (unreachable: ${health.unreachable}); the task starts once it answers`);
      log('task.held', { task: this.taskId, why: health.unreachable });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        health.reachable(),
        new Promise<void>((resolve) => {
          this.wakeHeld = resolve;
          timer = setTimeout(resolve, left);
        }),
      ]);
      clearTimeout(timer);
      this.wakeHeld = null;
    }
    return this.record.stop || this.forgetting ? null : health.unreachable;
  }

  /** The task cannot start (or, after an agent restart, start again): FAILED_TO_START. */
  failToStart(reason: string): Promise<void> {
    agentMetrics.containerFailed();
    this.system(`Failed to start: ${reason}`);
    return this.finish({ stopCode: 'FAILED_TO_START', exitCode: null, reason, startedAt: null });
  }

  /** After an agent restart: carry on with the container found again. */
  async resume(task: DriverTask): Promise<void> {
    this.task = task;
    await this.watch();
  }

  /** The container is gone and its end was never seen. */
  lost(): Promise<void> {
    return this.finish({ stopCode: 'AGENT_LOST', exitCode: null, reason: 'the container disappeared while the agent was away', startedAt: null });
  }

  /** The exit was recorded before a restart; only reporting (and removal) is left. */
  reportOnly(task: DriverTask | null): void {
    this.task = task;
    this.flush();
  }

  private async watch(): Promise<void> {
    const task = this.task!;
    const startedAt = (await task.startedAt().catch(() => null)) ?? new Date().toISOString();
    const fresh = this.record.state !== 'running';
    if (fresh) {
      // Its files are in the container now: the state folder keeps no copy of their bytes.
      const { files: _written, ...spec } = this.record.spec ?? { files: undefined };
      this.save({ state: 'running', ...(this.record.spec ? { spec: spec as TaskRecord['spec'] } : {}) });
      this.setStatus('RUNNING', startedAt);
    }
    if (this.record.stop) void this.stopTask(this.deps.stopGraceSeconds);
    // A fresh start's RUNNING time was taken before the start call (never after the engine's
    // start); its max_hours counts from now, once the call returned (never before it: a slow
    // start call would have cut the task short of its deadline by the scheduler's record).
    this.armLimits(fresh ? new Date().toISOString() : startedAt);
    // An interactive task's screen goes to its sessions and recordings, not to the task log
    // (which keeps its [system] lines): a TTY's bytes are not lines.
    if (task.terminal && !this.closed) {
      const screenFile = this.screenFile;
      // Back after a restart: add what the screen showed while no agent held the TTY.
      const backlog = fresh ? null : await task.terminal.backlog?.(screenSavedAt(screenFile) ?? startedAt).catch(() => null);
      if (this.closed) task.terminal.release();
      else this.hub = this.openConsole(task.terminal, screenFile, fresh ? startedAt : (this.record.consoleIdleSince ?? null), backlog ?? null);
    }
    // Output is read only once its secrets are known, so none reaches the spool unmasked.
    const output = this.hub ? Promise.resolve() : this.base.then(() => this.envReady).then(() => this.pump(task));
    const end = await task.wait();
    await output;
    if (this.hub && task.terminal) {
      // The last bytes of the screen reach the sessions before they hear of the exit.
      await Promise.race([task.terminal.closed, new Promise((r) => setTimeout(r, 2000))]);
      this.hub.exited(end.exitCode);
    }
    for (const t of this.timers) t.clear();
    const { stopCode, reason } = decideStop(end, this.record.stop, this.record.spec?.resources.memoryGb ?? null);
    await this.finish({ stopCode, reason, exitCode: end.exitCode, startedAt: end.startedAt ?? startedAt }, end);
  }

  private get screenFile(): string {
    return join(this.deps.store.dir, `${this.taskId}.screen`);
  }

  private openConsole(terminal: NonNullable<DriverTask['terminal']>, screenFile: string, idleSince: string | null, backlog: Buffer | null): ConsoleHub {
    const grace = this.deps.consoleGraceSeconds;
    return new ConsoleHub({
      taskId: this.taskId,
      terminal,
      screenFile,
      backlog,
      graceSeconds: grace,
      idleSince,
      onIdleChange: (since) => this.save({ consoleIdleSince: since }),
      onGraceExpired: () => this.requestStop('TIMED_OUT', `console had nobody attached for ${grace} s`, this.deps.stopGraceSeconds),
      say: (text) => this.system(text),
    });
  }

  private pump(task: DriverTask): Promise<void> {
    // Output arrives a message at a time when it is fast: gather a chunk's worth, or what came
    // within OUTPUT_BATCH_MS, then one write (lines and their cursor together) and one send.
    let runs: OutputRun[] = [];
    let chars = 0;
    let cursor: OutputCursor | null = null;
    let timer: NodeJS.Timeout | null = null;
    const commit = () => {
      if (timer) clearTimeout(timer);
      timer = null;
      if (this.closed || cursor === null) return;
      this.spool.appendRuns(runs, cursor);
      runs = [];
      chars = 0;
      cursor = null;
      this.flush();
    };
    return task
      .streamOutput(this.spool.cursor as OutputCursor | null, (more, after) => {
        for (const run of more) {
          runs.push(this.mask.empty ? run : { ...run, text: this.mask.apply(run.text) });
          chars += run.text.length;
        }
        cursor = after;
        if (chars >= CHUNK_CHARS) commit();
        else timer ??= setTimeout(commit, OUTPUT_BATCH_MS);
      })
      .catch((error) => log('task.output-error', { task: this.taskId, error: errorMessage(error) }))
      .finally(commit);
  }

  private baseReady: (() => void) | null = null;
  private readonly base: Promise<void>;

  private armLimits(startedAt: string): void {
    const { maxHours, ephemeralStorageGb } = this.record.limits;
    if (maxHours !== null) {
      // A duration, timed by a monotonic timer: how long it has run by the engine's start (on
      // this agent's clock), or by the scheduler's record of its start if that says longer.
      // Restarts never extend it; a skewed wall clock never shortens it.
      const { clock } = this.deps;
      const ranMs = Math.max(
        0,
        Date.now() - Date.parse(startedAt),
        clock.synced && this.record.spec?.startedAt ? Date.parse(clock.now()) - Date.parse(this.record.spec.startedAt) : 0,
      );
      this.timers.push(
        setLongTimeout(() => this.requestStop('TIMED_OUT', `exceeded max_hours of ${maxHours} h`, this.deps.stopGraceSeconds), msLeftOf(maxHours, ranMs || 0)),
      );
    }
    if (ephemeralStorageGb !== null) {
      const limit = storageLimitBytes(ephemeralStorageGb);
      let measuring = false; // sizing a big layer can take longer than the interval
      const timer = setInterval(() => {
        if (measuring || !this.task) return;
        measuring = true;
        this.task
          .diskUsageBytes()
          .then((used) => {
            if (used !== null && used > limit) {
              this.requestStop('STORAGE_EXCEEDED', `wrote ${used} bytes, over ephemeral_storage_gb of ${ephemeralStorageGb} GB`, this.deps.stopGraceSeconds);
            }
          })
          .catch(() => undefined)
          .finally(() => (measuring = false));
      }, this.deps.storageCheckMs);
      this.timers.push({ clear: () => clearInterval(timer) });
    }
  }

  /** Stops the task for `stopCode`; the first reason given is the one reported. */
  requestStop(stopCode: StopCode, reason: string, graceSeconds: number): void {
    if (this.record.state === 'exited') return;
    if (!this.record.stop) {
      this.save({ stop: { stopCode, reason } });
      this.system(`Stopping (${stopCode}): ${reason}`);
      log('task.stopping', { task: this.taskId, stopCode, reason });
    }
    this.setStatus('STOPPING');
    if (this.task) void this.stopTask(graceSeconds);
    else this.wakeHeld?.();
  }

  private async stopTask(graceSeconds: number): Promise<void> {
    const health = this.deps.driver.health;
    for (;;) {
      try {
        return await this.task?.stop(graceSeconds);
      } catch (error) {
        log('task.stop-error', { task: this.taskId, error: errorMessage(error) });
        // The engine is away: deliver the stop once it answers (with live restore the container
        // lives through the outage), unless the task ended meanwhile.
        if (!health || (await health.check()) === null) return;
        await health.reachable();
        if (this.closed || this.record.state === 'exited') return;
      }
    }
  }

  private async finish(
    how: { stopCode: StopCode; exitCode: number | null; reason: string | null; startedAt: string | null },
    end?: TaskEnd,
  ): Promise<void> {
    if (this.closed) return;
    const exit = {
      ...how,
      usage: end?.usage ?? { peakMemoryBytes: null, cpuSeconds: null, diskBytes: null },
      finishedAt: end?.finishedAt ?? new Date().toISOString(),
    };
    this.save({ state: 'exited', exit });
    log('task.exited', { task: this.taskId, stopCode: exit.stopCode, exitCode: exit.exitCode, lastSeq: this.spool.lastSeq });
    this.flush();
  }

  /** A lifecycle line in the task's own log. */
  system(text: string): void {
    if (this.closed) return;
    const entry: LogEntry = { stream: 'system', text: this.mask.apply(text), at: new Date().toISOString() };
    this.spool.append([entry]);
    this.flush();
  }

  private setStatus(status: TaskRun['status'], at = new Date().toISOString()): void {
    this.status = status;
    this.statusAt = at;
    this.outbox?.send(this.statusFrame(status, at));
  }

  private statusFrame(status: TaskRun['status'], at: string) {
    const digest = this.record.imageDigest;
    const reported = this.deps.clock.toScheduler(at);
    return { type: 'task.status' as const, taskId: this.taskId, status, at: reported, ...(digest && status !== 'PENDING' ? { imageDigest: digest } : {}) };
  }

  private save(patch: Partial<TaskRecord>): void {
    if (this.closed) return;
    this.record = { ...this.record, ...patch };
    this.deps.store.save(this.record);
  }

  /** A connection is up and the scheduler said it stored `ack`. Re-send from there. */
  attach(outbox: Outbox, ack: number | undefined, resendStatus = true): void {
    this.outbox = outbox;
    this.exitSent = false;
    // Back after a restart: the env was never written down; ask for it (a scheduler from before has none to give).
    if (this.env === null) {
      if (outbox.taskEnv) outbox.send({ type: 'task.env.request', taskId: this.taskId });
      else this.provideEnv({}, []);
    }
    if (this.awaitingBase) {
      this.awaitingBase = false;
      const base = ack ?? 0;
      if (base > 0) {
        // The lines before `base` were stored; what came after them is unknown: say so.
        this.spool.skipTo(base);
        this.system(`Agent state was lost; output after log line ${base} until now may be missing`);
        this.spool.append([], this.task?.cursorAt?.(new Date().toISOString()) ?? null);
      }
      this.baseReady?.();
    }
    if (ack !== undefined) this.spool.ack(ack);
    this.sentSeq = this.spool.ackedSeq;
    this.inFlight = [];
    if (resendStatus && this.record.state !== 'exited') outbox.send(this.statusFrame(this.status, this.statusAt));
    this.flush();
  }

  detach(): void {
    this.outbox = null;
  }

  onAck(seq: number): void {
    // `task.exited` goes out only once every line is acked, so an ack after it answers it.
    if (this.exitSent && seq >= this.spool.lastSeq) return void this.forget(false).catch((error) => log('task.forget-error', { task: this.taskId, error: errorMessage(error) }));
    // Acks answer frames in order: this one answers the oldest in flight, and any it covers.
    this.inFlight.shift();
    while (this.inFlight.length > 0 && this.inFlight[0]! <= seq) this.inFlight.shift();
    this.spool.ack(seq);
    this.flush();
  }

  /** Sends what the scheduler lacks: log lines (in chunks) from the last sent, then the exit. */
  flush(): void {
    const outbox = this.outbox;
    if (!outbox || this.forgetting) return;
    while (this.sentSeq < this.spool.lastSeq) {
      if (outbox.bufferedAmount() > MAX_BUFFERED) {
        this.flushTimer ??= setTimeout(() => ((this.flushTimer = null), this.flush()), 50);
        return;
      }
      const { clock } = this.deps;
      if (this.inFlight.length >= FULL_FRAMES_IN_FLIGHT) break;
      const waiting = this.inFlight.length >= FRAMES_IN_FLIGHT;
      if (outbox.logChunks) {
        const chunk = this.spool.chunkAfter(this.sentSeq);
        if (!chunk || (waiting && !chunk.full)) break;
        outbox.send({ type: 'task.log.chunk', taskId: this.taskId, seq: chunk.seq, runs: chunk.runs.map((run) => ({ ...run, at: clock.toScheduler(run.at) })) });
        agentMetrics.logShipped(chunk.lines, chunk.runs.reduce((sum, run) => sum + run.text.length, 0));
        this.sentSeq = chunk.seq + chunk.lines - 1;
      } else {
        // A scheduler from before chunks: a JSON object per line.
        const lines = this.spool.after(this.sentSeq);
        if (lines.length === 0 || (waiting && lines.length < 1000)) break;
        outbox.send({ type: 'task.log', taskId: this.taskId, seq: lines[0]!.seq, lines: lines.map(({ stream, text, at }) => ({ stream, text, at: clock.toScheduler(at) })) });
        agentMetrics.logShipped(lines.length, lines.reduce((sum, line) => sum + line.text.length, 0));
        this.sentSeq = lines[lines.length - 1]!.seq;
      }
      this.inFlight.push(this.sentSeq);
    }
    const exit = this.record.exit;
    if (this.record.state === 'exited' && exit && !this.exitSent && this.spool.ackedSeq >= this.spool.lastSeq) {
      this.exitSent = true;
      const { clock } = this.deps;
      const times = { startedAt: exit.startedAt && clock.toScheduler(exit.startedAt), finishedAt: clock.toScheduler(exit.finishedAt) };
      outbox.send({ type: 'task.exited', taskId: this.taskId, ...exit, ...times, lastSeq: this.spool.lastSeq });
    }
  }

  /** Done with the task: remove the container (stopping it first if the scheduler dropped it). */
  async forget(stopFirst: boolean): Promise<void> {
    if (this.forgetting) return;
    this.forgetting = true;
    this.closed = true; // whatever still arrives for this task (output, its end) is not wanted
    this.wakeHeld?.();
    this.envGiven();
    for (const t of this.timers) t.clear();
    if (this.flushTimer) clearTimeout(this.flushTimer);
    try {
      if (stopFirst && this.record.state !== 'exited') await this.task?.stop(this.deps.stopGraceSeconds);
      // Reported and acknowledged: a container kept for copies stays until its time is up.
      const keepSeconds = this.record.spec?.keepSeconds;
      if (!stopFirst && keepSeconds && this.task && this.deps.kept) this.deps.kept.keep(this.taskId, this.task.handle, keepSeconds);
      else await this.task?.destroy();
    } catch (error) {
      log('task.remove-error', { task: this.taskId, error: errorMessage(error) });
    }
    this.hub?.close('the task was stopped and removed');
    // Also when no console was opened this time (it ended while the agent was away).
    rmSync(this.screenFile, { force: true });
    rmSync(screenEndFile(this.screenFile), { force: true });
    this.spool.remove();
    this.deps.store.remove(this.taskId);
    log('task.forgotten', { task: this.taskId });
    this.deps.onForgotten(this.taskId);
  }

  /** Agent shutdown: leave the container running for the next start. */
  close(): void {
    this.closed = true;
    this.wakeHeld?.();
    this.envGiven();
    for (const t of this.timers) t.clear();
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.outbox = null;
    this.hub?.close();
    this.spool.close();
  }
}
