/**
 * A poll loop's wait that a change can cut short. A `wake()` while nobody waits is kept, so the
 * next `wait` returns at once: a change between two reads is never slept through.
 */
export class WakeSignal {
  private woken = false;
  private wakeWaiter: (() => void) | undefined;

  wake(): void {
    this.woken = true;
    this.wakeWaiter?.();
  }

  /** Waits `ms`, or less if woken (now or since the last wait). */
  async wait(ms: number): Promise<void> {
    if (!this.woken) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        this.wakeWaiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeWaiter = undefined;
    }
    this.woken = false;
  }
}
