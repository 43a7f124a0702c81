import { EventEmitter } from 'node:events';

/**
 * In-process wake-ups: "task X changed" (for log followers and the live listing), "there may be work" (for the
 * placement loop) and "schedules changed" (for the firing timer). Other replicas' changes are
 * picked up by polling; these only cut latency.
 */
export class TaskSignals {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  taskChanged(taskId: string): void {
    this.emitter.emit(`task:${taskId}`);
    this.emitter.emit('task');
  }

  /** Any task changed here (the dashboard's live listing: tasks/task-changes.ts). */
  onAnyTaskChanged(listener: () => void): () => void {
    this.emitter.on('task', listener);
    return () => this.emitter.off('task', listener);
  }

  onTaskChanged(taskId: string, listener: () => void): () => void {
    this.emitter.on(`task:${taskId}`, listener);
    return () => this.emitter.off(`task:${taskId}`, listener);
  }

  workAvailable(): void {
    this.emitter.emit('work');
  }

  onWorkAvailable(listener: () => void): () => void {
    this.emitter.on('work', listener);
    return () => this.emitter.off('work', listener);
  }

  /** A schedule was created or resumed here: the firing timer reads the next due time again. */
  schedulesChanged(): void {
    this.emitter.emit('schedules');
  }

  onSchedulesChanged(listener: () => void): () => void {
    this.emitter.on('schedules', listener);
    return () => this.emitter.off('schedules', listener);
  }
}
