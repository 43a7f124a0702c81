import { sql, type Kysely } from 'kysely';

// Frozen in time: never edit once landed; later changes are new migrations.

const statements = [
  `
    CREATE TABLE console_sessions (
      id          text PRIMARY KEY,                        -- 32 hex characters
      task_id     text NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
      mode        text NOT NULL,                           -- attach (the task's console) | exec (a new command in it)
      command     jsonb,                                   -- exec: argv; attach: null
      tty         boolean NOT NULL,                        -- whether a terminal was allocated
      cols        integer NOT NULL,                        -- terminal size at the start
      rows        integer NOT NULL,
      opened_by   text NOT NULL,                           -- token name
      source      text,                                    -- client address
      opened_at   timestamptz NOT NULL DEFAULT now(),
      closed_at   timestamptz,                             -- when the client or the program went away
      exit_code   integer,                                 -- exec's or the console's exit code, when it ended
      end_reason  text                                     -- detached | exited | client gone | error: …
    );
  `,
  `CREATE INDEX console_sessions_task_idx ON console_sessions (task_id, opened_at);`,
  `
    CREATE TABLE console_recording_chunks (
      session_id  text NOT NULL REFERENCES console_sessions (id) ON DELETE CASCADE,
      seq         integer NOT NULL,                        -- 1, 2, 3… in recording order
      events      text NOT NULL,                           -- asciicast v2 event lines, newline-terminated
      PRIMARY KEY (session_id, seq)
    );
  `,
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE console_recording_chunks, console_sessions`.execute(db);
}
