import { log } from '../log.js';
import { Backoff } from './backoff.js';
import { Session, type SessionOptions } from './session.js';

/**
 * Keeps one session up: dials, and after every loss waits a jittered backoff and dials again.
 * Ends (with an exit code) only when stopped or when the scheduler cannot speak our protocol.
 */
export class Connector {
  private session: Session | null = null;
  private stopped = false;
  private wake: (() => void) | null = null;
  private readonly backoff = new Backoff();
  private redialNow = false;

  constructor(private readonly options: Omit<SessionOptions, 'onWelcome'>) {}

  /** Readiness changed: tell the scheduler now rather than at the next interval. */
  heartbeatNow(): void {
    this.session?.heartbeat();
  }

  /** Recovery is done: replace a connection that only showed the agent by a full one, at once. */
  redialIfPresenceOnly(): void {
    if (!this.session?.presenceOnly) return;
    this.redialNow = true;
    void this.session.close('tasks recovered: dialing again');
  }

  async run(): Promise<number> {
    while (!this.stopped) {
      this.session = new Session({ ...this.options, onWelcome: () => this.backoff.reset() });
      const { refused } = await this.session.run();
      this.session = null;
      if (refused?.code === 'UNSUPPORTED_PROTOCOL_VERSION') {
        log('agent.exit', { why: 'the scheduler does not support this protocol version', message: refused.message });
        return 1;
      }
      if (this.stopped) break;
      const delay = this.redialNow ? 0 : this.backoff.next();
      this.redialNow = false;
      log('connection.retry', { inMs: delay });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.wake = () => (clearTimeout(timer), resolve());
      });
      this.wake = null;
    }
    return 0;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.session?.close();
  }
}
