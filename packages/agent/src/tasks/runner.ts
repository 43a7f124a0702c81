import { PullAuth, TaskSpec, type HeldTask, type SchedulerFrame, type StopCode } from '@tapit/protocol';
import { StartError, type DriverTask, type MemoryOnly } from '../drivers/driver.js';
import { errorMessage, log } from '../log.js';
import type { TaskRecord } from './handle-store.js';
import type { KeptContainers } from './kept-containers.js';
import type { Outbox } from './outbox.js';
import { TaskRun, type TaskRunDeps } from './task-run.js';

type TaskFrame = Extract<SchedulerFrame, { type: 'task.assign' | 'task.stop' | 'task.log.ack' | 'task.env' }>;
type Welcome = Extract<SchedulerFrame, { type: 'welcome' }>;

/** What every task run gets, less the callback the runner supplies itself. */
export type RunnerOptions = Omit<TaskRunDeps, 'onForgotten' | 'kept'> & { kept?: Pick<KeptContainers, 'keep' | 'has'> };

/** Maps scheduler frames to the driver and keeps every task this agent holds. */
export class TaskRunner {
  private readonly runs = new Map<string, TaskRun>();
  private outbox: Outbox | null = null;
  /** Records read by load(), for recover() to find their containers. */
  private loaded: TaskRecord[] | null = null;
  private closed = false;

  constructor(private readonly options: RunnerOptions) {}

  /** At boot, without the engine: the tasks of the state folder (what `hello` lists meanwhile). */
  load(): void {
    if (this.loaded) return;
    this.loaded = this.options.store.loadAll((file, why) => log('state.unreadable', { file, why }));
    for (const record of this.loaded) this.add(record);
  }

  /**
   * At boot, once the engine answers: re-adopt the loaded tasks, then any container of ours the
   * store lacks. Each task is recovered on its own: one that cannot start again is its own
   * FAILED_TO_START, one the engine fails on is tried again in the background; none stops the
   * agent or the others.
   */
  async recover(): Promise<void> {
    this.load();
    for (const record of this.loaded!) await this.recoverRun(this.runs.get(record.taskId)!, record);
    for (const owned of await this.options.driver.listOwned()) {
      // A container kept for copies is no task to run again.
      if (this.runs.has(owned.taskId) || this.options.kept?.has(owned.taskId)) continue;
      // Its env (and so its secrets to mask) comes from the scheduler before its output is read.
      const record: TaskRecord = { version: 1, taskId: owned.taskId, spec: null, envWithheld: true, limits: owned.limits, handle: owned.handle, state: 'running', stop: null, exit: null };
      let task: DriverTask | null;
      try {
        task = await this.options.driver.recover(owned.handle);
      } catch (error) {
        if (!(error instanceof StartError)) {
          // Not ours to decide yet: the next start looks again.
          log('task.adopt-failed', { task: owned.taskId, error: errorMessage(error) });
          continue;
        }
        this.options.store.save(record);
        this.guard(this.add(record, true).failToStart(error.message));
        continue;
      }
      if (!task) continue;
      this.options.store.save(record);
      log('task.adopted', { task: owned.taskId, reason: 'found by label without saved state' });
      this.guard(this.add(record, true).resume(task));
    }
  }

  private async recoverRun(run: TaskRun, record: TaskRecord, attempt = 0): Promise<void> {
    let task: DriverTask | null;
    try {
      task = record.handle ? await this.options.driver.recover(record.handle) : null;
    } catch (error) {
      if (error instanceof StartError) return void this.guard(run.failToStart(error.message));
      // The engine failed on this one: never report a container that may run as lost; try again.
      const retryInMs = Math.min(30_000, 1000 * 2 ** attempt);
      log('task.recover-failed', { task: record.taskId, error: errorMessage(error), retryInMs });
      const timer = setTimeout(() => {
        if (this.runs.get(record.taskId) === run && !this.closed) this.guard(this.recoverRun(run, record, attempt + 1));
      }, retryInMs);
      timer.unref?.();
      return;
    }
    log('task.recovered', { task: record.taskId, state: record.state, found: task !== null, lastSeq: run.spool.lastSeq });
    if (record.state === 'exited') run.reportOnly(task);
    else if (task) this.guard(run.resume(task));
    else if (record.state === 'pending' && record.spec) void this.launch(run, record.spec);
    else this.guard(run.lost());
  }

  /** A task's own failure is logged; it never becomes the agent's (an unhandled rejection). */
  private guard(work: Promise<void>): void {
    work.catch((error) => log('task.error', { error: errorMessage(error) }));
  }

  get(taskId: string): TaskRun | undefined {
    return this.runs.get(taskId);
  }

  /** Tasks held by state, for the agent's metrics. */
  countByState(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const run of this.runs.values()) counts[run.state] = (counts[run.state] ?? 0) + 1;
    return counts;
  }

  /** What the held tasks' log spools take on disk. */
  spoolBytes(): number {
    let bytes = 0;
    for (const run of this.runs.values()) bytes += run.spool.fileBytes;
    return bytes;
  }

  heldTasks(): HeldTask[] {
    return [...this.runs.values()].map((run) => ({ taskId: run.taskId, lastSeq: run.spool.lastSeq, state: run.state }));
  }

  /** The scheduler answered `hello`: drop what it no longer wants, re-send the rest from its acks. */
  attach(outbox: Outbox, welcome: Welcome): void {
    this.outbox = outbox;
    const acks = new Map(welcome.acks.map((a) => [a.taskId, a.seq]));
    // Unknown to the scheduler (no ack): nobody wants its logs; stop and forget it now.
    const unknown = welcome.drop.filter((id) => !acks.has(id));
    for (const taskId of unknown) this.guard(this.runs.get(taskId)?.forget(true) ?? Promise.resolve());
    for (const run of this.runs.values()) if (!unknown.includes(run.taskId)) run.attach(outbox, acks.get(run.taskId));
    // Known but already finished there (e.g. lost): stop it, yet deliver its log and end as usual.
    for (const taskId of welcome.drop) {
      if (!unknown.includes(taskId)) this.runs.get(taskId)?.requestStop('AGENT_LOST', 'the scheduler has already finished this task', this.options.stopGraceSeconds);
    }
  }

  /** Stops every task not yet ended, e.g. when cut off from the scheduler past its grace. */
  stopAll(stopCode: StopCode, reason: string, graceSeconds: number): void {
    for (const run of this.runs.values()) if (run.state !== 'exited') run.requestStop(stopCode, reason, graceSeconds);
  }

  detach(): void {
    this.outbox = null;
    for (const run of this.runs.values()) run.detach();
  }

  handle(frame: TaskFrame): void {
    switch (frame.type) {
      case 'task.assign':
        return this.assign(frame.task, frame.pullAuth);
      case 'task.stop': {
        const run = this.runs.get(frame.taskId);
        if (run) run.requestStop(frame.stopCode, frame.reason, frame.graceSeconds);
        else log('task.stop-unknown', { task: frame.taskId });
        return;
      }
      case 'task.log.ack':
        return this.runs.get(frame.taskId)?.onAck(frame.seq);
      case 'task.env':
        if (frame.failure !== undefined) return this.runs.get(frame.taskId)?.envRefused(frame.failure);
        return this.runs.get(frame.taskId)?.provideEnv(frame.env, frame.secretKeys, PullAuth.optional().parse(frame.pullAuth));
    }
  }

  private assign(raw: TaskSpec, rawPullAuth: PullAuth | undefined): void {
    // Re-validated here too: the agent trusts no input (RELIABILITY.md).
    const spec = TaskSpec.parse(raw);
    const pullAuth = PullAuth.optional().parse(rawPullAuth);
    const run = this.accept(spec.taskId, spec);
    if (!run) return;
    log('task.assigned', { task: spec.taskId, image: spec.image });
    const max = this.options.driver.maxTasks?.();
    const active = [...this.runs.values()].filter((r) => r !== run && r.state !== 'exited').length;
    // The scheduler places by the capacity's maxTasks; this holds even if it did not.
    if (max !== undefined && active >= max) return this.guard(run.failToStart(`this agent already runs ${active} tasks, its most at once (each holds a share of the host's process ids)`));
    void this.launch(run, spec, { pullAuth });
  }

  /**
   * An assignment the agent cannot read as a task (e.g. an image reference it refuses): that one
   * task fails to start with the reason; the connection and the other tasks go on.
   */
  refuse(taskId: string, reason: string): void {
    const run = this.accept(taskId, null);
    if (!run) return;
    log('task.refused', { task: taskId, reason });
    this.guard(run.failToStart(`the assignment was refused: ${reason}`));
  }

  /** Answers `task.accepted` and records a new task; null for one already held (a re-send). */
  private accept(taskId: string, spec: TaskSpec | null): TaskRun | null {
    this.outbox?.send({ type: 'task.accepted', taskId });
    const existing = this.runs.get(taskId);
    if (existing) {
      // A re-sent assignment (the scheduler missed our accept): never launch twice.
      if (this.outbox) existing.attach(this.outbox, undefined);
      return null;
    }
    const record: TaskRecord = {
      version: 1,
      taskId,
      // Its env stays in memory (it holds the app's secrets): the state folder never has it.
      spec: spec && { ...spec, env: {} },
      envWithheld: spec !== null,
      limits: { maxHours: spec?.resources.maxHours ?? null, ephemeralStorageGb: spec?.resources.ephemeralStorageGb ?? null },
      handle: null,
      state: 'pending',
      stop: null,
      exit: null,
    };
    this.options.store.save(record);
    const run = this.add(record, false, spec ?? undefined);
    if (this.outbox) run.attach(this.outbox, 0, false);
    return run;
  }

  private async launch(run: TaskRun, spec: TaskSpec, memoryOnly: MemoryOnly = {}): Promise<void> {
    try {
      await run.start(spec, memoryOnly);
    } catch (error) {
      log('task.error', { task: run.taskId, error: errorMessage(error) });
    }
  }

  private add(record: TaskRecord, awaitingBase = false, assigned?: TaskSpec): TaskRun {
    const run = new TaskRun(record, { ...this.options, onForgotten: (id) => this.runs.delete(id) }, { awaitingBase, env: assigned && { env: assigned.env, secretKeys: assigned.secretKeys ?? [] } });
    this.runs.set(record.taskId, run);
    if (this.outbox && !awaitingBase) run.attach(this.outbox, undefined);
    return run;
  }

  /** Agent shutdown: stop reporting, leave containers running. */
  close(): void {
    this.closed = true;
    for (const run of this.runs.values()) run.close();
  }
}
