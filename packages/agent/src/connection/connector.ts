import type { AgentFrame } from '@tapit/protocol';
import type { CredentialStore } from '../identity/credential-store.js';
import { log } from '../log.js';
import { agentMetrics } from '../metrics/agent-metrics.js';
import { Backoff } from './backoff.js';
import { Session, type SessionOptions } from './session.js';

type Hello = Extract<AgentFrame, { type: 'hello' }>;

export interface ConnectorOptions extends Omit<SessionOptions, 'onWelcome' | 'token' | 'hello'> {
  name: string;
  credentials: CredentialStore;
  /** TAPIT_AGENT_TOKEN: a join token, to register the credential; not needed once it is. */
  joinToken: string | undefined;
  /** The hello to send; with `credential` on a connection opened with the join token. */
  hello: (credential: string | undefined) => Promise<Hello>;
}

/**
 * Keeps one session up: dials, and after every loss waits a jittered backoff and dials again.
 * A connection opens with the agent's own credential once a scheduler has accepted it, and with
 * the join token (registering the credential) before that or when the credential is not known
 * (the scheduler's database was replaced, or an admin deleted the agent). Refused for its name
 * or its credential, it says so and keeps trying with backoff: it never displaces the holder.
 * Ends (with an exit code) only when stopped or when the scheduler cannot speak our protocol.
 */
export class Connector {
  private session: Session | null = null;
  private stopped = false;
  private wake: (() => void) | null = null;
  private readonly backoff = new Backoff();
  private redialNow = false;

  constructor(private readonly options: ConnectorOptions) {}

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
    const { credentials, joinToken } = this.options;
    let join = !credentials.registered;
    while (!this.stopped) {
      const joining = join && joinToken !== undefined;
      this.session = new Session({
        ...this.options,
        token: joining ? joinToken : credentials.credential,
        hello: () => this.options.hello(joining ? credentials.credential : undefined),
        onWelcome: () => {
          this.backoff.reset();
          credentials.markRegistered();
        },
      });
      const { refused, rejectedStatus } = await this.session.run();
      this.session = null;
      if (refused?.code === 'UNSUPPORTED_PROTOCOL_VERSION') {
        log('agent.exit', { why: 'the scheduler does not support this protocol version', message: refused.message });
        return 1;
      }
      if (refused?.code === 'NAME_IN_USE') {
        log('agent.name-in-use', { name: this.options.name, message: refused.message, hint: 'another agent holds this name; this one keeps trying (give it another with TAPIT_AGENT_NAME)' });
      } else if (refused?.code === 'UNAUTHORIZED') {
        log('agent.unauthorized', { name: this.options.name, message: refused.message });
      }
      if (this.stopped) break;
      // The scheduler does not know the credential: register it with the join token, at once.
      if (!joining && rejectedStatus === 401) {
        if (joinToken !== undefined) {
          log('connection.credential-unknown', { name: this.options.name, next: 'joining with TAPIT_AGENT_TOKEN' });
          join = true;
          continue;
        }
        log('connection.credential-unknown', { name: this.options.name, hint: 'set TAPIT_AGENT_TOKEN to a join token to join again' });
      }
      // A join refused at the upgrade: the token may be used up by this agent's own join whose
      // welcome was lost (the scheduler bound the credential then): try the credential next.
      const joinRefused = joining && rejectedStatus === 401;
      if (joinRefused) log('connection.join-refused', { name: this.options.name, next: 'trying its own credential' });
      join = joinRefused ? false : !credentials.registered;
      const delay = this.redialNow ? 0 : this.backoff.next();
      this.redialNow = false;
      log('connection.retry', { inMs: delay });
      agentMetrics.linkReconnected();
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
