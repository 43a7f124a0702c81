import { sql, type Kysely } from 'kysely';

// Frozen in time: never edit once landed; later changes are new migrations.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE app_env_vars (
      -- app_id: the app whose tasks get the var; its vars go with it.
      app_id   integer NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
      -- key: the var's name, POSIX (letters, digits, _; not a digit first).
      key      text NOT NULL,
      -- value: the plain value, or for a secret its sealed form (v1.KEYID.DATA, secrets/secret-box.ts, bound to app and key).
      value    text NOT NULL,
      -- secret: the value is sealed at rest, never shown back, and masked in the logs of the app's tasks.
      secret   boolean NOT NULL DEFAULT false,
      -- set_at: when the var was last set.
      set_at   timestamptz NOT NULL DEFAULT now(),
      -- set_by: the API token that last set it.
      set_by   text NOT NULL,
      PRIMARY KEY (app_id, key)
    )
  `.execute(db);
  // env_sealed: the task's own env vars (env=KEY=VALUE), as one sealed JSON object bound to the task; null when it has none.
  await sql`ALTER TABLE tasks ADD COLUMN env_sealed text`.execute(db);
  // env_keys: the names of those vars (shown back; their values never are).
  await sql`ALTER TABLE tasks ADD COLUMN env_keys jsonb NOT NULL DEFAULT '[]'`.execute(db);
  // A key rotation's re-seal at start reads only the tasks that have sealed vars.
  await sql`CREATE INDEX tasks_env_sealed_idx ON tasks (id) WHERE env_sealed IS NOT NULL`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX tasks_env_sealed_idx`.execute(db);
  await sql`ALTER TABLE tasks DROP COLUMN env_keys`.execute(db);
  await sql`ALTER TABLE tasks DROP COLUMN env_sealed`.execute(db);
  await sql`DROP TABLE app_env_vars`.execute(db);
}
