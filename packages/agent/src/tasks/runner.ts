import { TaskSpec, type HeldTask, type SchedulerFrame, type StopCode } from '@tapit/protocol';
import { errorMessage, log } from '../log.js';
import type { TaskRecord } from './handle-store.js';
import type { Outbox } from './outbox.js';
import { TaskRun, type TaskRunDeps } from './task-run.js';

type TaskFrame = Extract<SchedulerFrame, { type: 'task.assign' | 'task.stop' | 'task.log.ack' }>;
type Welcome = Extract<SchedulerFrame, { type: 'welcome' }>;

/** What every task run gets, less the callback the runner supplies itself. */
export type RunnerOptions = Omit<TaskRunDeps, 'onForgotten'>;

/** Maps scheduler frames to the driver and keeps every task this agent holds. */
export class TaskRunner {
  private readonly runs = new Map<string, TaskRun>();
  private outbox: Outbox | null = null;
  /** Records read by load(), for recover() to find their containers. */
  private loaded: TaskRecord[] | null = null;

  constructor(private readonly options: RunnerOptions) {}

  /** At boot, without the engine: the tasks of the state folder (what `hello` lists meanwhile). */
  load(): void {
    if (this.loaded) return;
    this.loaded = this.options.store.loadAll((file, why) => log('state.unreadable', { file, why }));
    for (const record of this.loaded) this.add(record);
  }

  /** At boot, once the engine answers: re-adopt the loaded tasks, then any container of ours the store lacks. */
  async recover(): Promise<void> {
    this.load();
    for (const record of this.loaded!) {
      const run = this.runs.get(record.taskId)!;
      // Errors other than "not found" propagate: better to exit and be restarted than to report
      // a running container as lost.
      const task = record.handle ? await this.options.driver.recover(record.handle) : null;
      log('task.recovered', { task: record.taskId, state: record.state, found: task !== null, lastSeq: run.spool.lastSeq });
      if (record.state === 'exited') run.reportOnly(task);
      else if (task) void run.resume(task);
      else if (record.state === 'pending' && record.spec) void this.launch(run, record.spec);
      else void run.lost();
    }
    for (const owned of await this.options.driver.listOwned()) {
      if (this.runs.has(owned.taskId)) continue;
      const task = await this.options.driver.recover(owned.handle);
      if (!task) continue;
      const record: TaskRecord = { version: 1, taskId: owned.taskId, spec: null, limits: owned.limits, handle: owned.handle, state: 'running', stop: null, exit: null };
      this.options.store.save(record);
      log('task.adopted', { task: owned.taskId, reason: 'found by label without saved state' });
      void this.add(record, true).resume(task);
    }
  }

  get(taskId: string): TaskRun | undefined {
    return this.runs.get(taskId);
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
    for (const taskId of unknown) void this.runs.get(taskId)?.forget(true);
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
        return this.assign(frame.task);
      case 'task.stop': {
        const run = this.runs.get(frame.taskId);
        if (run) run.requestStop(frame.stopCode, frame.reason, frame.graceSeconds);
        else log('task.stop-unknown', { task: frame.taskId });
        return;
      }
      case 'task.log.ack':
        return this.runs.get(frame.taskId)?.onAck(frame.seq);
    }
  }

  private assign(raw: TaskSpec): void {
    // Re-validated here too: the agent trusts no input (RELIABILITY.md).
    const spec = TaskSpec.parse(raw);
    this.outbox?.send({ type: 'task.accepted', taskId: spec.taskId });
    const existing = this.runs.get(spec.taskId);
    if (existing) {
      // A re-sent assignment (the scheduler missed our accept): never launch twice.
      existing.attach(this.outbox!, undefined);
      return;
    }
    const record: TaskRecord = {
      version: 1,
      taskId: spec.taskId,
      spec,
      limits: { maxHours: spec.resources.maxHours, ephemeralStorageGb: spec.resources.ephemeralStorageGb },
      handle: null,
      state: 'pending',
      stop: null,
      exit: null,
    };
    this.options.store.save(record);
    const run = this.add(record);
    if (this.outbox) run.attach(this.outbox, 0, false);
    log('task.assigned', { task: spec.taskId, image: spec.image });
    void this.launch(run, spec);
  }

  private async launch(run: TaskRun, spec: TaskSpec): Promise<void> {
    try {
      await run.start(spec);
    } catch (error) {
      log('task.error', { task: run.taskId, error: errorMessage(error) });
    }
  }

  private add(record: TaskRecord, awaitingBase = false): TaskRun {
    const run = new TaskRun(record, { ...this.options, onForgotten: (id) => this.runs.delete(id) }, { awaitingBase });
    this.runs.set(record.taskId, run);
    if (this.outbox && !awaitingBase) run.attach(this.outbox, undefined);
    return run;
  }

  /** Agent shutdown: stop reporting, leave containers running. */
  close(): void {
    for (const run of this.runs.values()) run.close();
  }
}
