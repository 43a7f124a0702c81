import { sql, type Kysely } from 'kysely';
import type { DatabaseKind } from '../db/client.js';
import { coerceError, describeDatabaseError, isDatabaseUnavailable } from '../db/errors.js';
import type { Database } from '../db/schema.js';
import type { TaskSignals } from '../tasks/task-signals.js';
import { fireDueSchedules } from './firing-pass.js';
import { pruneRuns } from './repository.js';
import { settleFinishedRuns, startDueRetries } from './run-outcomes.js';
import type { FiringEffects } from './start-attempt.js';
import type { ControlPass } from '../agents/control-passes.js';

/** The precise timer sleeps at most this long before it reads the next due time again. */
const MAX_SLEEP_MS = 1000;
/** A due time still due after a firing (another replica is firing it): look again after this, doubling up to the max. */
const STILL_DUE_FIRST_WAIT_MS = 5;
const STILL_DUE_MAX_WAIT_MS = 200;
/** A schedule whose slots could not be handled is left alone this long. */
const EXCLUDE_FAILED_MS = 2000;
/** Firing transactions at once on Postgres (the embedded database runs one at a time anyway). */
const POSTGRES_WORKERS = 4;
/**
 * The runs pass reads every open run with its task, a waiting one's too (thousands while agents
 * are busy or away): it runs at most this often, not on every wake-up of the control loop, so
 * that reading does not take the database from firing.
 */
const FOLLOW_RUNS_EVERY_MS = 1000;
/** How often the history of the schedules fired here is pruned to its limit. */
const PRUNE_EVERY_MS = 5000;
/** The same problem is logged at most this often. */
const LOG_EVERY_MS = 60_000;

export interface ScheduleEngineDeps {
  db: Kysely<Database>;
  dbKind: DatabaseKind;
  signals: TaskSignals;
  missedAfterSeconds: number;
  retryBackoffMs: number;
  log: (line: string) => void;
  /** FOLLOW_RUNS_EVERY_MS, for tests. */
  followRunsEveryMs?: number;
}

/**
 * Fires schedules and follows their runs. Firing runs on a precise timer armed at the earliest
 * next_run_at (the database's time, translated with the measured offset between its clock and
 * this process's), so a slot is fired milliseconds after its time rather than a poll interval
 * later; its work is also two passes of the control loop (`controlPasses()`: firing whatever the
 * timer did not; settling runs whose task stopped, starting due retries). Every replica runs it:
 * the row locks share the work out.
 */
export class ScheduleEngine {
  private stopped = false;
  private firing: Promise<void> | null = null;
  private fireAgain = false;
  private wakeUp: (() => void) | null = null;
  private sleepTimer: NodeJS.Timeout | undefined;
  private readonly excluded = new Set<string>();
  /** Schedules fired here since their history was last pruned. */
  private readonly toPrune = new Set<string>();
  private prunedAt = 0;
  /** When the control loop's runs pass last ran. */
  private followedAt = 0;
  private readonly lastLogged = new Map<string, number>();
  private readonly unsubscribe: () => void;
  /** The database's clock minus this process's, as last measured. */
  offsetMs = 0;

  constructor(private readonly deps: ScheduleEngineDeps) {
    this.unsubscribe = deps.signals.onSchedulesChanged(() => this.wakeUp?.());
  }

  private timer: Promise<void> = Promise.resolve();

  start(): void {
    this.timer = this.timerLoop();
  }

  /** Stops the timer; resolves once no firing of this engine is under way (before the database closes). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe();
    this.wakeUp?.();
    await this.timer;
    await this.firing?.catch(() => {});
  }

  /**
   * The engine's work as passes of the control loop, each on its own: firing whatever the timer
   * did not, and following runs (settling those whose task stopped, starting due retries, pruning
   * history). A failing pass is logged by the loop and does not skip the other.
   */
  controlPasses(): ControlPass[] {
    return [
      // A firing under way (a long catch-up) is not waited for: it looks once more when done,
      // and the loop's other passes (placement) go on meanwhile.
      {
        name: 'schedule firing',
        run: async () => {
          if (this.firing) this.fireAgain = true;
          else await this.fireDue();
        },
      },
      {
        name: 'schedule runs',
        run: async () => {
          if (Date.now() - this.followedAt < (this.deps.followRunsEveryMs ?? FOLLOW_RUNS_EVERY_MS)) return;
          this.followedAt = Date.now();
          await this.followRuns();
        },
      },
    ];
  }

  /** Settles runs whose task stopped, starts due retries, and prunes history now and then. */
  async followRuns(): Promise<void> {
    await settleFinishedRuns(this.deps.db, this.deps.retryBackoffMs);
    this.announce(await startDueRetries(this.deps.db));
    if (Date.now() - this.prunedAt >= PRUNE_EVERY_MS && this.toPrune.size > 0) {
      const ids = [...this.toPrune];
      await pruneRuns(this.deps.db, ids);
      for (const id of ids) this.toPrune.delete(id);
      this.prunedAt = Date.now();
    }
  }

  /** Fires every due schedule; a call while a firing runs joins it (and makes it look once more). */
  fireDue(): Promise<void> {
    if (this.firing) {
      this.fireAgain = true;
      return this.firing;
    }
    this.firing = (async () => {
      try {
        do {
          this.fireAgain = false;
          const effects = await fireDueSchedules(this.deps.db, {
            missedAfterSeconds: this.deps.missedAfterSeconds,
            workers: this.deps.dbKind === 'postgres' ? POSTGRES_WORKERS : 1,
            excluded: this.excluded,
            stopping: () => this.stopped,
            onScheduleError: (id, error) => {
              setTimeout(() => this.excluded.delete(id), EXCLUDE_FAILED_MS).unref();
              this.logSometimes(`schedule:${id}`, `schedule ${id}: its due slots could not be handled (tried again in ${EXCLUDE_FAILED_MS / 1000} s): ${error.message}`);
            },
          });
          this.announce(effects);
        } while (this.fireAgain && !this.stopped);
      } finally {
        this.firing = null;
      }
    })();
    return this.firing;
  }

  /** After a commit: placement starts new tasks now, stops go out now. */
  private announce(effects: FiringEffects): void {
    const { signals } = this.deps;
    for (const id of effects.fired) this.toPrune.add(id);
    for (const id of [...effects.created, ...effects.stopped]) signals.taskChanged(id);
    if (effects.created.length > 0 || effects.stopped.length > 0) signals.workAvailable();
  }

  /** The earliest next_run_at (one index lookup), and the clock offset measured with it. */
  private async nextDue(): Promise<Date | null> {
    let query = this.deps.db
      .selectFrom('schedules')
      .select((eb) => [eb.fn.min('next_run_at').as('next'), sql<Date>`clock_timestamp()`.as('now')])
      .where('suspended', '=', false);
    if (this.excluded.size > 0) query = query.where('id', 'not in', [...this.excluded]);
    const sent = Date.now();
    const row = await query.executeTakeFirstOrThrow();
    const received = Date.now();
    this.offsetMs = row.now.getTime() - (sent + received) / 2;
    return row.next === null ? null : new Date(row.next as Date);
  }

  private async timerLoop(): Promise<void> {
    /** The due time last fired for, and the growing wait while it stays due. */
    let firedFor: number | null = null;
    let backoffMs = 0;
    while (!this.stopped) {
      let sleepMs = MAX_SLEEP_MS;
      try {
        const next = await this.nextDue();
        const due = next?.getTime() ?? null;
        const untilDue = due === null ? Infinity : due - (Date.now() + this.offsetMs);
        if (due !== null && untilDue <= 0 && firedFor !== due) {
          firedFor = due;
          await this.fireDue();
          continue;
        }
        if (untilDue <= 0) {
          // Still due after firing: another replica holds it, or the database's now() lags a little.
          backoffMs = Math.min(backoffMs === 0 ? STILL_DUE_FIRST_WAIT_MS : backoffMs * 2, STILL_DUE_MAX_WAIT_MS);
          sleepMs = backoffMs;
          firedFor = null;
        } else {
          backoffMs = 0;
          firedFor = null;
          // 1 ms past the due time, so the database's now() has reached it.
          sleepMs = Math.min(untilDue + 1, MAX_SLEEP_MS);
        }
      } catch (error) {
        this.logSometimes('timer', isDatabaseUnavailable(error)
          ? `schedules: the database is unavailable (${describeDatabaseError(error)}); firing resumes when it answers`
          : `schedules: firing failed: ${coerceError(error).message}`);
      }
      await this.sleep(sleepMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wakeUp = () => {
        clearTimeout(this.sleepTimer);
        this.wakeUp = null;
        resolve();
      };
      this.sleepTimer = setTimeout(() => this.wakeUp?.(), ms);
    });
  }

  private logSometimes(key: string, line: string): void {
    const last = this.lastLogged.get(key) ?? 0;
    if (Date.now() - last < LOG_EVERY_MS) return;
    this.lastLogged.set(key, Date.now());
    this.deps.log(line);
  }
}
