import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { coerceError, describeDatabaseError, isDatabaseUnavailable } from '../db/errors.js';
import type { TaskSignals } from '../tasks/task-signals.js';
import { CONTROL_PASSES, FailedAfterChanges, type ControlPass, type PassContext } from './control-passes.js';
import type { AgentGateway } from './gateway.js';
import type { Log } from '../log.js';

/** A run of every pass (the poll), or of those run at once when work is signalled. */
export type PassScope = 'all' | 'signalled';

/**
 * Runs failing this long for want of the database mean it was out: heartbeats could not be
 * written meanwhile, so agents get a new grace period. Shorter outages (a failover's blip) and
 * other failures (a deadlock, one bad row, a bug in one pass) leave it alone: a dead agent's
 * tasks must still end.
 */
const OUTAGE_MS = 1000;
/** A run that took this long so far is a database that stopped answering (a hang, not a refusal). */
const STALL_MS = 5000;

export interface ControlLoopDeps {
  db: Kysely<Database>;
  gateway: AgentGateway;
  signals: TaskSignals;
  pollIntervalMs: number;
  agentLostGraceSeconds: number;
  heartbeatIntervalMs: number;
  deadlineSlackSeconds: number;
  log: Log;
  /** What each run does, in order (CONTROL_PASSES unless a test gives its own). */
  passes?: readonly ControlPass[];
}

/**
 * This replica's work, as independent passes (control-passes.ts): place waiting tasks, send
 * stops, end what agents cannot, and so on. Runs on a timer, and its `onSignal` passes at once
 * when something local signals work; never two runs at a time. A pass that fails is logged and
 * the others run all the same; the database being unavailable ends the run (every pass needs it)
 * and is logged once per outage.
 */
export class ControlLoop {
  private running = false;
  /** The run asked for while one runs (or by a pass wanting to go again): null for none. */
  private wanted: PassScope | null = null;
  private timer: NodeJS.Timeout | undefined;
  private readonly unsubscribe: () => void;
  private stopped = false;
  private readonly passes: readonly ControlPass[];
  /** Since when this replica could hear agents: its start, or the end of a database outage. */
  private listeningSince = Date.now();
  /** When the current run of runs that found the database unavailable began. */
  private failingSince: number | null = null;
  /** Whether that outage was logged (once, not every run). */
  private unreachable = false;
  /** The last failure logged per pass, so a pass failing the same way every poll is one line. */
  private readonly passFailures = new Map<string, string>();

  constructor(private readonly deps: ControlLoopDeps) {
    this.passes = deps.passes ?? CONTROL_PASSES;
    this.unsubscribe = deps.signals.onWorkAvailable(() => void this.pass('signalled'));
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

  /**
   * Runs the passes once: all of them (the poll), or those `onSignal` (work was signalled); and
   * again at once while one asks for it or more was asked meanwhile, the widest scope asked.
   */
  async pass(scope: PassScope = 'all'): Promise<void> {
    this.wanted = this.wanted === 'all' ? 'all' : scope;
    if (this.running) return;
    this.running = true;
    try {
      while (this.wanted !== null && !this.stopped) {
        const run = this.wanted;
        this.wanted = null;
        if (this.failingSince !== null && Date.now() - this.failingSince >= OUTAGE_MS) this.listeningSince = Date.now();
        // After a failure the next tick tries again: a pass failing at once is not run in a tight loop.
        if (!(await this.runPasses(run))) {
          this.wanted = null;
          break;
        }
      }
    } finally {
      this.running = false;
    }
  }

  /** One run of the passes; false if any failed. */
  private async runPasses(scope: PassScope): Promise<boolean> {
    const { signals, log } = this.deps;
    const started = Date.now();
    let failed = false;
    let unavailable: unknown;
    const changed: string[] = [];
    for (const pass of this.passes) {
      if (this.stopped) break;
      if (scope === 'signalled' && !pass.onSignal) continue;
      try {
        const result = await pass.run(this.context());
        changed.push(...(result?.changed ?? []));
        if (result?.again) this.wanted = this.wanted === 'all' ? 'all' : scope;
        if (this.passFailures.delete(pass.name)) log(`control loop: the ${pass.name} pass works again`);
      } catch (thrown) {
        failed = true;
        if (thrown instanceof FailedAfterChanges) changed.push(...thrown.changed);
        const error = thrown instanceof FailedAfterChanges ? thrown.cause : thrown;
        if (isDatabaseUnavailable(error)) {
          unavailable = error;
          break;
        }
        const message = coerceError(error).message;
        if (this.passFailures.get(pass.name) !== message) log(`control loop: the ${pass.name} pass failed: ${message}`, 'warn');
        this.passFailures.set(pass.name, message);
      } finally {
        // Heartbeats could not be written while the database hung: the passes after this one,
        // and the next runs, judge no agent's silence before a whole grace period.
        if (Date.now() - started >= STALL_MS) this.listeningSince = Date.now();
      }
    }
    for (const id of changed) signals.taskChanged(id);
    if (unavailable !== undefined) {
      this.failingSince ??= Date.now();
      if (!this.unreachable) log(`control loop: the database is unavailable (${describeDatabaseError(unavailable)}); passes are retried until it answers`, 'warn');
      this.unreachable = true;
    } else {
      if (this.unreachable) log(`control loop: the database answers again after ${((Date.now() - this.failingSince!) / 1000).toFixed(1)} s`);
      this.failingSince = null;
      this.unreachable = false;
    }
    return !failed;
  }

  private context(): PassContext {
    const { db, gateway, agentLostGraceSeconds, heartbeatIntervalMs, deadlineSlackSeconds, log } = this.deps;
    return { db, secrets: gateway.secrets, sessions: gateway.sessions, listeningSince: this.listeningSince, agentLostGraceSeconds, heartbeatIntervalMs, deadlineSlackSeconds, log };
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.unsubscribe();
  }
}
