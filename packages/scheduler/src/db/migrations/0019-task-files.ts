import { sql, type Kysely } from 'kysely';

// Frozen in time: never edit once landed; later changes are new migrations.

export async function up(db: Kysely<any>): Promise<void> {
  // keep_seconds: how long its agent keeps the task's container after it ended, for `tapit cp` (keep=DURATION); null = removed at once.
  await sql`ALTER TABLE tasks ADD COLUMN keep_seconds integer`.execute(db);
  // Files copied into a task's container before it starts (`--file`): sent with its assignment
  // until it runs or stops, then deleted (lifecycle.ts).
  await sql`
    CREATE TABLE task_files (
      task_id   text NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,  -- the task whose container gets the file
      position  integer NOT NULL,                                       -- its place in the request (0, 1, …): written in this order
      path      text NOT NULL,                                          -- absolute path in the container, as the request gave it
      mode      integer NOT NULL,                                       -- permission bits (e.g. 420 for 0644); owned by root
      content   bytea NOT NULL,                                         -- the bytes; a task's files hold at most TAPIT_TASK_FILES_MAX_BYTES together
      PRIMARY KEY (task_id, position)
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE task_files`.execute(db);
  await sql`ALTER TABLE tasks DROP COLUMN keep_seconds`.execute(db);
}
