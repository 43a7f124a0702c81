import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { coerceError, describeDatabaseError, isDatabaseUnavailable } from '../db/errors.js';
import type { TaskSignals } from '../tasks/task-signals.js';
import { applyBackstops } from './backstops.js';
import type { AgentGateway } from './gateway.js';
import { placeWaitingTasks } from './placement.js';
import { resendUnansweredAssignments } from './reassign.js';
import { sendStops } from './stops.js';

/**
 * Passes failing this long mean the database was out: heartbeats could not be written
 * meanwhile, so agents get a new grace period. Shorter failures (a deadlock, one bad row) leave
 * it alone: a dead agent's tasks must still end.
 */
const OUTAGE_MS = 1000;
/** A pass stuck this long before its backstops is a database that stopped answering. */
const STALL_MS = 5000;

export interface ControlLoopDeps {
  db: Kysely<Database>;
  gateway: AgentGateway;
  signals: TaskSignals;
  pollIntervalMs: number;
  agentLostGraceSeconds: number;
  heartbeatIntervalMs: number;
  deadlineSlackSeconds: number;
  /** Schedules: firing, run outcomes, retries (schedules/schedule-engine.ts). */
  schedules?: { pass(): Promise<void> };
  log: (line: string) => void;
}

/**
 * This replica's work: place waiting tasks, send stops, end what agents cannot. Runs on a
 * timer and at once when something local signals work; never two passes at a time.
 */
export class ControlLoop {
  private running = false;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly unsubscribe: () => void;
  private stopped = false;
  /** Since when this replica could hear agents: its start, or the end of a database outage. */
  private listeningSince = Date.now();
  /** When the current run of failed passes began. */
  private failingSince: number | null = null;
  /** Whether that run is the database being unreachable (logged once, not every pass). */
  private unreachable = false;

  constructor(private readonly deps: ControlLoopDeps) {
    this.unsubscribe = deps.signals.onWorkAvailable(() => void this.pass());
  }

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      void this.pass().finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.deps.pollIntervalMs);
      });
    };
    tick();
  }

  async pass(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    if (this.failingSince !== null && Date.now() - this.failingSince >= OUTAGE_MS) this.listeningSince = Date.now();
    try {
      do {
        this.again = false;
        const started = Date.now();
        const { db, gateway, signals } = this.deps;
        const placed = await placeWaitingTasks(db, gateway.sessions.values());
        const stopping = await sendStops(db, gateway.sessions);
        if (Date.now() - started >= STALL_MS) this.listeningSince = Date.now(); // a hung database
        const ended = await applyBackstops(db, { ...this.deps, listeningSince: this.listeningSince });
        await resendUnansweredAssignments(db, gateway.sessions);
        await this.deps.schedules?.pass();
        for (const id of [...placed, ...stopping, ...ended]) signals.taskChanged(id);
        // A full batch may mean more waiting tasks.
        if (placed.length >= 200) this.again = true;
      } while (this.again && !this.stopped);
      if (this.unreachable) this.deps.log(`control loop: the database answers again after ${((Date.now() - this.failingSince!) / 1000).toFixed(1)} s`);
      this.failingSince = null;
      this.unreachable = false;
    } catch (error) {
      this.failingSince ??= Date.now();
      // Each pass is tried again on the next tick: an outage is one line, not four a second.
      if (!isDatabaseUnavailable(error)) this.deps.log(`control loop: ${coerceError(error).message}`);
      else if (!this.unreachable) this.deps.log(`control loop: the database is unavailable (${describeDatabaseError(error)}); passes are retried until it answers`);
      this.unreachable ||= isDatabaseUnavailable(error);
    } finally {
      this.running = false;
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.unsubscribe();
  }
}
