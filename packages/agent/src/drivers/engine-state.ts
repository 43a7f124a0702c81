import type { EngineHealth } from './driver.js';

/** What every EngineHealth keeps: whether the engine answers, who listens, who waits for it. */
export abstract class EngineState implements Pick<EngineHealth, 'unreachable' | 'onChange' | 'reachable'> {
  unreachable: string | null = null;
  private readonly listeners = new Set<(unreachable: string | null) => void>();

  onChange(listener: (unreachable: string | null) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  reachable(): Promise<void> {
    if (this.unreachable === null) return Promise.resolve();
    return new Promise((resolve) => {
      const off = this.onChange((cause) => {
        if (cause !== null) return;
        off();
        resolve();
      });
      this.waited();
    });
  }

  /** Records what was found; listeners hear of every change. */
  protected update(cause: string | null): void {
    if (cause === this.unreachable) return;
    this.unreachable = cause;
    for (const listener of [...this.listeners]) listener(cause);
  }

  /** Someone listens (e.g. waits for the engine to come back). */
  protected get listened(): boolean {
    return this.listeners.size > 0;
  }

  /** Called when someone starts waiting for the engine: ask it again in time. */
  protected waited(): void {}
}
