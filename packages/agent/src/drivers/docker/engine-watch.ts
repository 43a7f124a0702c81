import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { inspect } from 'node:util';
import type Docker from 'dockerode';
import { Backoff } from '../../connection/backoff.js';
import type { EngineHealth } from '../driver.js';
import { EngineState } from '../engine-state.js';
import { engineMessage } from './pull.js';

/** A ping slower than this counts as no answer: an engine that hangs cannot start tasks either. */
export const PING_TIMEOUT_MS = 10_000;

/**
 * Every call to the engine on a connection of its own. A Docker daemon that is shutting down
 * closes its socket first, then stops its containers while still answering on connections
 * already open: over a kept-alive connection a dying engine looks alive, and the end of a task
 * it killed looks like the task's own.
 */
export function withoutKeepAlive(docker: Docker): Docker {
  const modem = docker.modem as { agent?: unknown; protocol?: string };
  if (modem.agent) return docker;
  const agent = modem.protocol === 'https' ? new HttpsAgent({ keepAlive: false }) : new HttpAgent({ keepAlive: false });
  // docker-modem passes each request's options, this agent among them, to util.inspect with
  // showHidden and no depth limit, debugging or not: with the agent's open sockets (a flooding
  // task's log stream and what it buffered) that held the event loop up to 0.5 s per engine call.
  Object.defineProperty(agent, inspect.custom, { value: () => `${agent.constructor.name} { keepAlive: false }` });
  modem.agent = agent;
  return docker;
}

/**
 * Watches whether the Docker engine answers `GET /_ping`: every `intervalMs` while it does, with
 * a jittered backoff (250 ms up to 5 s) while it does not, and at once when a caller saw a call
 * fail. Cheap: one small request per interval.
 */
export class DockerEngineWatch extends EngineState implements EngineHealth {
  readonly name = 'Docker engine';
  private readonly backoff = new Backoff(250, 5000);
  /** Pings started, and the newest whose answer was applied: an older answer never wins. */
  private started = 0;
  private applied = 0;
  private timer: NodeJS.Timeout | null = null;
  private watching = false;

  constructor(
    private readonly docker: Docker,
    private readonly intervalMs: number,
  ) {
    super();
  }

  start(): void {
    this.watching = true;
    this.schedule();
  }

  stop(): void {
    this.watching = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Always a ping of its own: one begun before the caller's failure could not tell of it. */
  async check(): Promise<string | null> {
    const mine = ++this.started;
    const cause = await this.ping();
    if (mine > this.applied) {
      this.applied = mine;
      if (cause === null) this.backoff.reset();
      this.update(cause);
      this.schedule();
    }
    return cause;
  }

  protected override waited(): void {
    this.schedule();
  }

  /** The next check: periodic while watched, with backoff while the engine is away and someone waits. */
  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const away = this.unreachable !== null;
    if (!this.watching && !(away && this.listened)) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.check();
    }, away ? this.backoff.next() : this.intervalMs);
    this.timer.unref();
  }

  private async ping(): Promise<string | null> {
    try {
      // The typings lack the options dockerode takes here.
      await (this.docker.ping as (options: { abortSignal: AbortSignal }) => Promise<unknown>).call(this.docker, {
        abortSignal: AbortSignal.timeout(PING_TIMEOUT_MS),
      });
      return null;
    } catch (error) {
      const name = (error as { name?: string } | null)?.name;
      if (name === 'TimeoutError' || name === 'AbortError') return `no answer within ${PING_TIMEOUT_MS / 1000} s`;
      return engineMessage(error) || 'no answer';
    }
  }
}
