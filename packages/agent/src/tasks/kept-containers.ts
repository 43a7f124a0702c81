import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { TaskId } from '@tapit/protocol';
import type { TaskDriver, TaskHandle } from '../drivers/driver.js';
import { errorMessage, log } from '../log.js';

/** A finished task's container kept for `tapit cp` (TaskSpec.keepSeconds), until `removeAt`. */
const KeptRecord = z.object({
  taskId: TaskId,
  handle: z.looseObject({ driver: z.string(), version: z.number() }),
  /** The agent's own clock: a duration from the task's end, not a time the scheduler gave. */
  removeAt: z.number().int(),
});
type KeptRecord = z.infer<typeof KeptRecord>;

/** setTimeout's longest wait; a later removal waits in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A kept container's record: `kept-TASKID.json` in the state folder (0600, as every file there). */
const FILE = /^kept-([0-9a-f]{32})\.json$/;
const fileOf = (taskId: string) => `kept-${taskId}.json`;

/**
 * Containers of ended tasks kept for copies, one JSON file each in the state folder, so
 * that a restarted agent still removes them when their time is up, and never adopts them as
 * running tasks. `task.remove` (the task was deleted) removes one at once.
 */
export class KeptContainers {
  private readonly records = new Map<string, KeptRecord>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly dir: string;

  constructor(
    stateDir: string,
    private readonly driver: Pick<TaskDriver, 'removeContainer'>,
  ) {
    this.dir = stateDir;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    for (const file of readdirSync(this.dir)) {
      if (!FILE.test(file)) continue;
      try {
        const record = KeptRecord.parse(JSON.parse(readFileSync(join(this.dir, file), 'utf8')));
        this.records.set(record.taskId, record);
      } catch (error) {
        log('kept.unreadable', { file, why: errorMessage(error) });
      }
    }
  }

  /** Schedules the removals of what was kept before a restart (those past their time: now). */
  start(): void {
    for (const record of this.records.values()) this.schedule(record);
  }

  has(taskId: string): boolean {
    return this.records.has(taskId);
  }

  handleOf(taskId: string): TaskHandle | null {
    return (this.records.get(taskId)?.handle as TaskHandle | undefined) ?? null;
  }

  keep(taskId: string, handle: TaskHandle, seconds: number): void {
    const record = { taskId, handle, removeAt: Date.now() + seconds * 1000 };
    const path = join(this.dir, fileOf(taskId));
    writeFileSync(`${path}.tmp`, JSON.stringify(record), { mode: 0o600 });
    renameSync(`${path}.tmp`, path);
    this.records.set(taskId, record);
    log('kept.container', { task: taskId, seconds });
    this.schedule(record);
  }

  /** Removes a kept container now (its time is up, or its task was deleted). */
  async remove(taskId: string, why: string): Promise<void> {
    const record = this.records.get(taskId);
    if (!record) return;
    clearTimeout(this.timers.get(taskId));
    this.timers.delete(taskId);
    try {
      await this.driver.removeContainer?.(record.handle as TaskHandle);
    } catch (error) {
      // The engine away: try again in a minute; the record stays meanwhile.
      log('kept.remove-failed', { task: taskId, error: errorMessage(error) });
      this.timers.set(taskId, setTimeout(() => void this.remove(taskId, why), 60_000).unref());
      return;
    }
    this.records.delete(taskId);
    rmSync(join(this.dir, fileOf(taskId)), { force: true });
    log('kept.removed', { task: taskId, why });
  }

  close(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private schedule(record: KeptRecord): void {
    clearTimeout(this.timers.get(record.taskId));
    const wait = Math.max(0, record.removeAt - Date.now());
    const timer = setTimeout(() => (wait > MAX_TIMER_MS ? this.schedule(record) : void this.remove(record.taskId, 'its keep time is up')), Math.min(wait, MAX_TIMER_MS));
    timer.unref();
    this.timers.set(record.taskId, timer);
  }
}
