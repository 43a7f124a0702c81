import type { StopWhenCutOff } from '@tapit/protocol';

/**
 * Stops this agent's tasks once it has been cut off from the scheduler for the time the
 * scheduler gave in `welcome.stopWhenCutOff` (Nomad's stop_on_client_disconnect). The scheduler
 * declares such tasks AGENT_LOST only once they must have stopped, so none runs on unseen after
 * it was declared lost. "Heard" is the welcome and any frame or ping on a welcomed connection:
 * a scheduler replica is there (one whose database is out declares nobody lost meanwhile, and
 * gives agents a whole grace period after it). Silence is timed on the monotonic clock,
 * so a stepped wall clock neither fires it nor holds it back; a process frozen (SIGSTOP) past
 * the time fires it as soon as it runs again.
 */
export class CutOffWatch {
  private policy: StopWhenCutOff | null = null;
  private lastHeard = performance.now();
  private fired = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly onCutOff: (silentSeconds: number, policy: StopWhenCutOff) => void,
    checkMs = 250,
  ) {
    this.timer = setInterval(() => this.check(), checkMs);
    this.timer.unref();
  }

  /** A welcome: the scheduler's current rule (none from an older scheduler), and a sign of life. */
  welcomed(policy: StopWhenCutOff | undefined): void {
    this.policy = policy ?? null;
    this.heard();
  }

  heard(): void {
    this.lastHeard = performance.now();
    this.fired = false;
  }

  close(): void {
    clearInterval(this.timer);
  }

  private check(): void {
    const policy = this.policy;
    if (!policy || this.fired) return;
    const silentMs = performance.now() - this.lastHeard;
    if (silentMs < policy.afterSeconds * 1000) return;
    this.fired = true;
    this.onCutOff(Math.floor(silentMs / 1000), policy);
  }
}
