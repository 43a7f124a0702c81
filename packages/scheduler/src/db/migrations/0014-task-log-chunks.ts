import { sql, type Kysely } from 'kysely';

// Frozen in time: never edit once landed; later changes are new migrations.

export async function up(db: Kysely<any>): Promise<void> {
  // A task's log as chunks of consecutive lines, one row per chunk instead of one per line
  // (task_log_lines keeps the lines stored before; positions go on across both tables).
  await sql`
    CREATE TABLE task_log_chunks (
      task_id         text NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
      first_position  integer NOT NULL,                   -- position of the chunk's first line (positions count lines, as task_log_lines.position)
      last_position   integer NOT NULL,                   -- position of its last line: it holds last_position - first_position + 1 lines
      first_seq       integer,                            -- the agent's seq of its first line (the others follow one by one); null for lines of the scheduler
      streams         smallint NOT NULL,                  -- the streams it holds, as bits: 1 stdout, 2 stderr, 4 system
      earliest_at     timestamptz NOT NULL,               -- the earliest time of its lines
      latest_at       timestamptz NOT NULL,               -- the latest time of its lines
      text_bytes      integer NOT NULL,                   -- bytes of output it holds (UTF-8, each line with its line break)
      encoding        smallint NOT NULL,                  -- how body is written: 0 its LogRun[] as JSON (UTF-8), 1 the same JSON deflated (raw deflate)
      body            bytea NOT NULL,                     -- its runs: stream, time, line count and text of each, as encoding says
      PRIMARY KEY (task_id, last_position)
    )
  `.execute(db);
  // Bodies come compressed (or too small to gain): TOAST must not try again.
  await sql`ALTER TABLE task_log_chunks ALTER COLUMN body SET STORAGE EXTERNAL`.execute(db);
  // log_bytes: bytes of output stored in the task's log (text_bytes of its chunks, summed).
  await sql`ALTER TABLE tasks ADD COLUMN log_bytes bigint NOT NULL DEFAULT 0`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE tasks DROP COLUMN log_bytes`.execute(db);
  await sql`DROP TABLE task_log_chunks`.execute(db);
}
