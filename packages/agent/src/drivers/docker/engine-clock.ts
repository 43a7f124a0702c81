import type Docker from 'dockerode';
import { toNanos } from './timestamps.js';

/** A reading older than this is taken again before the next start, end or output read. */
const FRESH_MS = 60_000;
/** Readings per refresh when the engine's clock differs (one suffices when it does not); the fastest one is believed. */
const TRIES = 3;

/**
 * The Docker engine's clock against this agent's. Container start and end times and log
 * timestamps are the engine's; on another host (DOCKER_HOST=tcp://…), or with this process's
 * clock off (faketime in the tests), they are not the agent's. Read from `GET /info`
 * (SystemTime) halfway through the call, so the driver hands the runner the agent's times and
 * takes the agent's times (a log cursor, a backlog's start) back to the engine's.
 */
export class EngineClock {
  /** Engine time minus agent time, in milliseconds. */
  private offsetMs = 0;
  private readAt = -Infinity;
  private reading: Promise<void> | null = null;

  constructor(private readonly docker: Docker) {}

  /** Reads the engine's clock again if the last reading is old (errors keep the old one). */
  fresh(): Promise<void> {
    if (performance.now() - this.readAt < FRESH_MS) return Promise.resolve();
    this.reading ??= this.read().finally(() => (this.reading = null));
    return this.reading;
  }

  /** Milliseconds to add to an engine time for the agent's. */
  get toAgentMs(): number {
    return -this.offsetMs;
  }

  /** An agent time (ISO) on the engine's clock. */
  toEngine(agentTime: string): string {
    const ms = Date.parse(agentTime);
    return Number.isNaN(ms) ? agentTime : new Date(ms + this.offsetMs).toISOString();
  }

  private async read(): Promise<void> {
    let best: { offsetMs: number; took: number } | null = null;
    for (let i = 0; i < TRIES && !(best && Math.abs(best.offsetMs) <= best.took / 2); i++) {
      const before = Date.now();
      const started = performance.now();
      const info = (await this.docker.info().catch(() => null)) as { SystemTime?: string } | null;
      const took = performance.now() - started;
      const engineNs = info?.SystemTime ? toNanos(info.SystemTime) : null;
      if (engineNs === null) continue;
      const offsetMs = Number(engineNs / 1_000_000n) - (before + took / 2);
      if (!best || took < best.took) best = { offsetMs, took };
    }
    if (!best) return;
    // Within half the call's time the clocks cannot be told apart (the engine on this host):
    // leave its times exactly as they are.
    this.offsetMs = Math.abs(best.offsetMs) <= best.took / 2 ? 0 : Math.round(best.offsetMs);
    this.readAt = performance.now();
  }
}
