import type { Capacity, TaskSpec } from '@tapit/protocol';
import type { AdoptableTask, DriverTask, EngineHealth, OutputCursor, OutputRun, StartHooks, TaskDriver, TaskEnd, TaskHandle } from '../drivers/driver.js';
import { EngineState } from '../drivers/engine-state.js';

/**
 * An engine a test switches off and on: what the runner does around an engine that goes away
 * (holding tasks, readiness) is runner logic, tested here without taking a real engine down.
 * (test/faults/docker-engine.test.ts does that with a private dockerd.)
 */
export class FakeEngineHealth extends EngineState implements EngineHealth {
  readonly name = 'fake engine';

  /** Switches the engine off (with the cause its calls fail with) or on (null). */
  set(cause: string | null): void {
    this.update(cause);
  }

  async check(): Promise<string | null> {
    return this.unreachable;
  }

  start(): void {}
  stop(): void {}
}

/** A task that runs until the test ends it. */
export class FakeTask implements DriverTask {
  readonly terminal = null;
  private finish!: (end: TaskEnd) => void;
  private readonly ended = new Promise<TaskEnd>((resolve) => (this.finish = resolve));
  stops = 0;

  constructor(
    readonly handle: TaskHandle,
    private readonly started = new Date().toISOString(),
  ) {}

  end(exitCode: number, patch: Partial<TaskEnd> = {}): void {
    this.finish({ exitCode, oomKilled: false, startedAt: this.started, finishedAt: new Date().toISOString(), usage: { peakMemoryBytes: null, cpuSeconds: null, diskBytes: null }, lostWithEngine: null, ...patch });
  }

  async startedAt(): Promise<string | null> {
    return this.started;
  }

  async streamOutput(_from: OutputCursor | null, _onOutput: (runs: OutputRun[], cursor: OutputCursor) => void): Promise<void> {
    await this.ended;
  }

  wait(): Promise<TaskEnd> {
    return this.ended;
  }

  async stop(): Promise<void> {
    this.stops++;
    this.end(143);
  }

  async diskUsageBytes(): Promise<number | null> {
    return null;
  }

  async destroy(): Promise<void> {}
}

/** A driver whose engine is a FakeEngineHealth: calls fail while it is off. */
export class FakeDriver implements TaskDriver {
  readonly name = 'fake';
  readonly capabilities = { tty: false, exec: false, storageQuota: false };
  readonly health = new FakeEngineHealth();
  readonly tasks = new Map<string, FakeTask>();
  /** Every call of start(), by task id, also the failed ones. */
  readonly starts: string[] = [];
  /** Runs inside start() before it succeeds: a test can switch the engine off right there. */
  beforeStart: ((spec: TaskSpec) => void) | null = null;

  async capacity(): Promise<Capacity> {
    this.available();
    return { cpu: 2, memoryGb: 4 };
  }

  async start(spec: TaskSpec, hooks: StartHooks): Promise<DriverTask> {
    this.starts.push(spec.taskId);
    this.available();
    this.beforeStart?.(spec);
    this.available();
    const existing = this.tasks.get(spec.taskId);
    if (existing) return existing; // named after the task: a second start finds the first
    const task = new FakeTask({ driver: 'fake', version: 1, id: spec.taskId });
    hooks.onCreated(task.handle, null);
    this.tasks.set(spec.taskId, task);
    return task;
  }

  async recover(handle: TaskHandle): Promise<DriverTask | null> {
    this.available();
    return this.tasks.get(String(handle.id)) ?? null;
  }

  async listOwned(): Promise<AdoptableTask[]> {
    this.available();
    return [];
  }

  private available(): void {
    if (this.health.unreachable !== null) throw new Error(this.health.unreachable);
  }
}
