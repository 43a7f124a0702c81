import { sql, type Kysely } from 'kysely';
import type { ControlPass } from '../agents/control-passes.js';
import type { Database } from '../db/schema.js';

export interface RetentionBatch {
  /** TAPIT_LOG_RETENTION_DAYS: the days of apps without their own; null keeps their logs forever. */
  defaultDays: number | null;
  /** Tasks one step expires or deletes the logs of. */
  tasks?: number;
  /** Chunk rows one statement deletes (a chunk holds up to 256 KiB of text). */
  chunkRows?: number;
  /** Rows of the per-line layout one statement deletes. */
  lineRows?: number;
}

export interface RetentionStep {
  /** Tasks whose logs expired in this step: their followers are told. */
  expired: string[];
  /** Chunk and line rows deleted. */
  deleted: number;
  /** A batch was full: there may be more to do at once. */
  more: boolean;
}

const TASKS = 10;
const CHUNK_ROWS = 32;
const LINE_ROWS = 2000;

/**
 * One small step of log retention: expires the logs of up to `tasks` tasks that finished longer
 * ago than their app's retention (or the default) and deletes a batch of their rows. Every
 * statement is short and commits on its own, so no lock or connection (PGlite has one) is held
 * for long. A log is marked expired first, so readers say so at once rather than show what is
 * left of it; a replica stopped halfway leaves the mark, and the next step carries on.
 * Only complete logs expire: STOPPED tasks no longer waiting for their agent's late report.
 */
export async function expireLogs(db: Kysely<Database>, batch: RetentionBatch): Promise<RetentionStep> {
  const tasks = batch.tasks ?? TASKS;
  const chunkRows = batch.chunkRows ?? CHUNK_ROWS;
  const lineRows = batch.lineRows ?? LINE_ROWS;
  const unfinished = await db
    .selectFrom('tasks')
    .select('id')
    .where('log_expired_at', 'is not', null)
    .where('log_purged_at', 'is', null)
    .orderBy('log_expired_at')
    .limit(tasks)
    .execute();
  const ids = unfinished.map((row) => row.id);
  let expired: string[] = [];
  if (ids.length < tasks) {
    const wanted = tasks - ids.length;
    const defaultDays = sql`${batch.defaultDays}::double precision`;
    // Per app (its own days or the default), its oldest finished tasks whose log is kept: an
    // index probe per app with a retention, whatever the number of tasks kept forever.
    const { rows } = await sql<{ id: string }>`
      UPDATE tasks SET log_expired_at = now()
      WHERE log_expired_at IS NULL AND id IN (
        SELECT due.id FROM apps
        CROSS JOIN LATERAL (
          SELECT t.id FROM tasks t
          WHERE t.app_id = apps.id AND t.finished_at IS NOT NULL AND t.log_expired_at IS NULL
            AND t.finished_at < now() - COALESCE(apps.log_retention_days, ${defaultDays}) * interval '1 day'
            AND t.status = 'STOPPED' AND (t.late_report_until IS NULL OR t.late_report_until <= now())
          ORDER BY t.finished_at
          LIMIT ${wanted}
        ) due
        WHERE COALESCE(apps.log_retention_days, ${defaultDays}) IS NOT NULL
        LIMIT ${wanted}
      )
      RETURNING id`.execute(db);
    expired = rows.map((row) => row.id);
    ids.push(...expired);
  }
  if (ids.length === 0) return { expired, deleted: 0, more: false };
  const of = sql.join(ids);
  const chunks = await countDeleted(
    db,
    sql`DELETE FROM task_log_chunks WHERE (task_id, last_position) IN (SELECT task_id, last_position FROM task_log_chunks WHERE task_id IN (${of}) LIMIT ${chunkRows}) RETURNING 1`,
  );
  let lines = 0;
  if (chunks < chunkRows) {
    lines = await countDeleted(
      db,
      sql`DELETE FROM task_log_lines WHERE (task_id, position) IN (SELECT task_id, position FROM task_log_lines WHERE task_id IN (${of}) LIMIT ${lineRows}) RETURNING 1`,
    );
  }
  const done = chunks < chunkRows && lines < lineRows;
  if (done) await db.updateTable('tasks').set({ log_purged_at: sql`now()` }).where('id', 'in', ids).where('log_purged_at', 'is', null).execute();
  return { expired, deleted: chunks + lines, more: !done || ids.length >= tasks };
}

async function countDeleted(db: Kysely<Database>, deletion: ReturnType<typeof sql>): Promise<number> {
  const { rows } = await sql<{ n: number }>`WITH gone AS (${deletion}) SELECT count(*)::integer AS n FROM gone`.execute(db);
  return rows[0]?.n ?? 0;
}

/** Looks for logs to expire this often when the last step found nothing more. */
const CHECK_EVERY_MS = 5000;

/**
 * Log retention as a pass of every replica's control loop: one small step per run, the next at
 * the next poll while there is more, else after CHECK_EVERY_MS. Replicas may step at once:
 * marks are guarded and a row deleted twice is deleted once.
 */
export class LogRetention {
  private nextAt = 0;

  constructor(private readonly options: RetentionBatch & { checkEveryMs?: number }) {}

  controlPass(): ControlPass {
    return {
      name: 'log retention',
      run: async ({ db }) => {
        if (Date.now() < this.nextAt) return;
        this.nextAt = Date.now() + (this.options.checkEveryMs ?? CHECK_EVERY_MS);
        const step = await expireLogs(db, this.options);
        if (step.more) this.nextAt = 0;
        return { changed: step.expired };
      },
    };
  }
}
