import { sql, type Kysely } from 'kysely';

// Frozen in time: never edit once landed; later changes are new migrations.

export async function up(db: Kysely<any>): Promise<void> {
  // log_retention_days: days the logs of the app's tasks are kept after they finish; null = the scheduler's TAPIT_LOG_RETENTION_DAYS.
  await sql`ALTER TABLE apps ADD COLUMN log_retention_days double precision`.execute(db);
  // log_expired_at: when retention expired the task's log; from then readers say so, and its chunks and lines are deleted in batches. Null = kept.
  await sql`ALTER TABLE tasks ADD COLUMN log_expired_at timestamptz`.execute(db);
  // log_purged_at: when the last chunk and line of its expired log were deleted; null while kept or still being deleted.
  await sql`ALTER TABLE tasks ADD COLUMN log_purged_at timestamptz`.execute(db);
  // log_dropped_bytes: bytes of the task's output dropped past TAPIT_LOG_MAX_BYTES_PER_TASK (acknowledged to its agent, never stored).
  await sql`ALTER TABLE tasks ADD COLUMN log_dropped_bytes bigint NOT NULL DEFAULT 0`.execute(db);
  // log_dropped_lines: lines of its output dropped so; once above 0, every later line of its agent is dropped too.
  await sql`ALTER TABLE tasks ADD COLUMN log_dropped_lines integer NOT NULL DEFAULT 0`.execute(db);
  // Retention's search: an app's finished tasks whose log is kept, oldest first.
  await sql`CREATE INDEX tasks_log_retention_idx ON tasks (app_id, finished_at) WHERE finished_at IS NOT NULL AND log_expired_at IS NULL`.execute(db);
  // Expired logs not yet wholly deleted (a replica stopped mid-way; another carries on).
  await sql`CREATE INDEX tasks_log_purge_idx ON tasks (log_expired_at) WHERE log_expired_at IS NOT NULL AND log_purged_at IS NULL`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX tasks_log_purge_idx`.execute(db);
  await sql`DROP INDEX tasks_log_retention_idx`.execute(db);
  await sql`ALTER TABLE tasks DROP COLUMN log_dropped_lines`.execute(db);
  await sql`ALTER TABLE tasks DROP COLUMN log_dropped_bytes`.execute(db);
  await sql`ALTER TABLE tasks DROP COLUMN log_purged_at`.execute(db);
  await sql`ALTER TABLE tasks DROP COLUMN log_expired_at`.execute(db);
  await sql`ALTER TABLE apps DROP COLUMN log_retention_days`.execute(db);
}
