import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { retryDelayMs } from './limits.js';
import { settleRun, type Settlement, type Slot } from './settle-run.js';
import { noEffects, startRetry, type FiringEffects } from './start-attempt.js';
import { sql } from 'kysely';

/** Runs looked at per pass; the rest wait for the next. */
const BATCH = 200;

/** What a run's latest task ended as (null fields: the task is gone). */
interface Ended {
  attempts: number;
  retries: number;
  task_id: string | null;
  stop_code: string | null;
  exit_code: number | null;
  stop_reason: string | null;
  stopped_by: string | null;
}

/** How a task ended, in words: `EXITED (exit code 3)`, `OOM_KILLED - …`. */
function describeEnd(run: Ended): string {
  const exit = run.exit_code === null ? '' : ` (exit code ${run.exit_code})`;
  return `${run.stop_code}${exit}${run.stop_reason ? ` - ${run.stop_reason}` : ''}`;
}

/**
 * A run whose latest task stopped: EXITED 0 succeeded; USER_STOPPED (also by concurrency=replace)
 * stopped, never retried; anything else is retried while attempts are left, with exponential
 * backoff, else failed.
 */
export function outcomeOf(run: Ended, retryBackoffMs: number): Settlement {
  const attempt = run.attempts;
  if (run.task_id === null) return { outcome: 'failed', reason: `the task of attempt ${attempt} was deleted before its outcome was recorded` };
  if (run.stop_code === 'EXITED' && run.exit_code === 0) return { outcome: 'succeeded', reason: null };
  if (run.stop_code === 'USER_STOPPED') {
    return { outcome: 'stopped', reason: `task ${run.task_id} was stopped by ${run.stopped_by ?? 'a user'}${run.stop_reason ? ` - ${run.stop_reason}` : ''}` };
  }
  const ended = `task ${run.task_id} (attempt ${attempt}${run.retries > 0 ? ` of ${run.retries + 1}` : ''}) ended ${describeEnd(run)}`;
  if (attempt <= run.retries) {
    const wait = retryDelayMs(retryBackoffMs, attempt);
    return { outcome: 'retrying', reason: `${ended}; retrying in ${wait / 1000} s`, retryInMs: wait };
  }
  return { outcome: 'failed', reason: ended };
}

/** Settles running runs whose latest task has stopped (or is gone); returns how many. */
export async function settleFinishedRuns(db: Kysely<Database>, retryBackoffMs: number): Promise<number> {
  const finished = await db
    .selectFrom('schedule_runs as r')
    .innerJoin('schedules as s', 's.id', 'r.schedule_id')
    .leftJoin('tasks as t', (join) =>
      join.onRef('t.schedule_id', '=', 'r.schedule_id').onRef('t.scheduled_for', '=', 'r.scheduled_for').onRef('t.schedule_attempt', '=', 'r.attempts'),
    )
    .select(['r.schedule_id', 'r.scheduled_for', 'r.trigger', 'r.attempts', 's.retries', 't.id as task_id', 't.stop_code', 't.exit_code', 't.stop_reason', 't.stopped_by'])
    .where('r.outcome', '=', 'running')
    .where((eb) => eb.or([eb('t.status', '=', 'STOPPED'), eb('t.id', 'is', null)]))
    .limit(BATCH)
    .execute();
  let settled = 0;
  for (const run of finished) {
    const slot: Slot = { scheduleId: run.schedule_id, scheduledFor: run.scheduled_for, trigger: run.trigger as Slot['trigger'] };
    const done = await db.transaction().execute(async (trx) => {
      // Still this attempt, and nobody else settling it.
      const still = await trx
        .selectFrom('schedule_runs')
        .select('attempts')
        .where('schedule_id', '=', slot.scheduleId)
        .where('scheduled_for', '=', slot.scheduledFor)
        .where('outcome', '=', 'running')
        .where('attempts', '=', run.attempts)
        .forUpdate()
        .skipLocked()
        .executeTakeFirst();
      return still ? settleRun(trx, slot, outcomeOf(run, retryBackoffMs), { fresh: false }) : false;
    });
    if (done) settled++;
  }
  return settled;
}

/**
 * Starts the next attempt of each run whose retry is due, unless its schedule is suspended (the
 * retry waits for the resume). Lock order as in firing: the schedule, then the run.
 */
export async function startDueRetries(db: Kysely<Database>): Promise<FiringEffects> {
  const effects = noEffects();
  const due = await db
    .selectFrom('schedule_runs as r')
    .innerJoin('schedules as s', 's.id', 'r.schedule_id')
    .select(['r.schedule_id', 'r.scheduled_for', 'r.trigger'])
    .where('r.outcome', '=', 'retrying')
    .where('r.next_attempt_at', '<=', sql<Date>`now()`)
    .where('s.suspended', '=', false)
    .limit(BATCH)
    .execute();
  for (const candidate of due) {
    const slot: Slot = { scheduleId: candidate.schedule_id, scheduledFor: candidate.scheduled_for, trigger: candidate.trigger as Slot['trigger'] };
    const own = noEffects();
    await db.transaction().execute(async (trx) => {
      const schedule = await trx
        .selectFrom('schedules')
        .selectAll()
        .where('id', '=', slot.scheduleId)
        .where('suspended', '=', false)
        .forUpdate()
        .skipLocked()
        .executeTakeFirst();
      if (!schedule) return;
      const run = await trx
        .selectFrom('schedule_runs')
        .select('attempts')
        .where('schedule_id', '=', slot.scheduleId)
        .where('scheduled_for', '=', slot.scheduledFor)
        .where('outcome', '=', 'retrying')
        .where('next_attempt_at', '<=', sql<Date>`now()`)
        .forUpdate()
        .executeTakeFirst();
      if (run) await startRetry(trx, schedule, slot, run.attempts + 1, own);
    });
    effects.created.push(...own.created);
  }
  return effects;
}
