import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { coerceError } from '../db/errors.js';
import type { TaskSignals } from '../tasks/task-signals.js';
import { applyBackstops } from './backstops.js';
import type { AgentGateway } from './gateway.js';
import { placeWaitingTasks } from './placement.js';
import { resendUnansweredAssignments } from './reassign.js';
import { sendStops } from './stops.js';

export interface ControlLoopDeps {
  db: Kysely<Database>;
  gateway: AgentGateway;
  signals: TaskSignals;
  pollIntervalMs: number;
  agentLostGraceSeconds: number;
  deadlineSlackSeconds: number;
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
  /** Since when passes have worked (process start, or the end of a database outage); null while failing. */
  private listeningSince: number | null = Date.now();

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
    try {
      do {
        this.again = false;
        const { db, gateway, signals } = this.deps;
        const placed = await placeWaitingTasks(db, gateway.sessions.values());
        const stopping = await sendStops(db, gateway.sessions);
        const ended = await applyBackstops(db, { ...this.deps, listeningSince: this.listeningSince });
        await resendUnansweredAssignments(db, gateway.sessions);
        for (const id of [...placed, ...stopping, ...ended]) signals.taskChanged(id);
        // A full batch may mean more waiting tasks.
        if (placed.length >= 200) this.again = true;
      } while (this.again && !this.stopped);
      this.listeningSince ??= Date.now();
    } catch (error) {
      this.listeningSince = null;
      this.deps.log(`control loop: ${coerceError(error).message}`);
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
