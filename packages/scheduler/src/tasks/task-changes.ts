import { sql, type Kysely } from 'kysely';
import { isDatabaseUnavailable } from '../db/errors.js';
import type { Database } from '../db/schema.js';
import { findTasksById } from './repository.js';
import type { TaskSignals } from './task-signals.js';
import type { TaskWithApp } from './task-view.js';
import { WakeSignal } from '../wake-signal.js';

export type TaskChangeListener = (tasks: TaskWithApp[]) => void;

/** Events read back below the newest seen: an event whose transaction began earlier may commit later. */
const LOOKBACK_EVENTS = 1000;
/** The least time between two reads, however often it is woken. */
const MIN_GAP_MS = 100;
/** Events read at a time. */
const PAGE_EVENTS = 2000;

/**
 * Which tasks changed, for the dashboard's live listings: one reader per replica, shared by all
 * their sockets, running only while one listens. Every change of a task's status (its birth
 * included) writes a `task_events` row in the change's transaction (tasks/lifecycle.ts), so the
 * reader reads the events after the last one it saw and then the changed tasks, once, and hands
 * them to every listener (each keeps what its token and filters may see). It reads when this
 * replica changed a task (TaskSignals) and every `pollMs` otherwise (other replicas' changes).
 *
 * Identity values are taken at insert and committed in any order, so an event may become visible
 * below one already seen: the reader reads back LOOKBACK_EVENTS below the newest and skips those
 * it saw. A listener may get a task twice; it shows the task as it is now either way.
 */
export class TaskChanges {
  private readonly listeners = new Set<TaskChangeListener>();
  /** The newest event seen; null until the reader started (then it starts from the newest). */
  private newest: number | null = null;
  private readonly seen = new Set<number>();
  private readonly changed = new WakeSignal();
  private running = false;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly signals: TaskSignals,
    private readonly pollMs: number,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  /** Calls `listener` with the tasks that changed from now on; returns the way to stop. */
  listen(listener: TaskChangeListener): () => void {
    this.listeners.add(listener);
    if (!this.running) void this.loop();
    return () => {
      this.listeners.delete(listener);
      this.poke();
    };
  }

  /** Readers running: 1 while anyone listens, else 0. */
  get active(): number {
    return this.running ? 1 : 0;
  }

  private poke(): void {
    this.changed.wake();
  }

  private async loop(): Promise<void> {
    this.running = true;
    this.unsubscribe = this.signals.onAnyTaskChanged(() => this.poke());
    try {
      while (this.listeners.size > 0) {
        try {
          await this.read();
        } catch (error) {
          // The database is away: read again at the next poll, from where the reader was.
          if (!isDatabaseUnavailable(error)) this.onError(error);
        }
        if (this.listeners.size === 0) break;
        // A task's log lines wake it too (TaskSignals has one kind of change): reads are spaced
        // by MIN_GAP_MS at least, so a chatty task costs at most a few cheap reads a second.
        await new Promise((resolve) => setTimeout(resolve, Math.min(MIN_GAP_MS, this.pollMs)));
        await this.changed.wait(this.pollMs - Math.min(MIN_GAP_MS, this.pollMs));
      }
    } finally {
      this.unsubscribe?.();
      this.running = false;
      // Nobody listens: a later listener starts from the events then (it lists what is before).
      this.newest = null;
      this.seen.clear();
    }
  }

  private async read(): Promise<void> {
    if (this.newest === null) {
      const row = await this.db.selectFrom('task_events').select(sql<string | null>`max(id)::text`.as('id')).executeTakeFirst();
      this.newest = Number(row?.id ?? 0);
      return;
    }
    for (;;) {
      const floor = Math.max(0, this.newest - LOOKBACK_EVENTS);
      const events = await this.db
        .selectFrom('task_events')
        .select([sql<string>`id::text`.as('id'), 'task_id'])
        .where('id', '>', sql<number>`${floor}::bigint`)
        .orderBy('id')
        .limit(PAGE_EVENTS)
        .execute();
      const changed = new Set<string>();
      for (const event of events) {
        const id = Number(event.id);
        if (this.seen.has(id)) continue;
        this.seen.add(id);
        changed.add(event.task_id);
        if (id > this.newest) this.newest = id;
      }
      for (const id of this.seen) if (id <= this.newest - LOOKBACK_EVENTS) this.seen.delete(id);
      if (changed.size > 0) {
        const tasks = await findTasksById(this.db, [...changed]);
        for (const listener of this.listeners) listener(tasks);
      }
      // A full page: more may follow at once (a burst of creations).
      if (events.length < PAGE_EVENTS || changed.size === 0) return;
    }
  }
}
