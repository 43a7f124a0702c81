import { sql, type Kysely } from 'kysely';

// Frozen in time: never edit once landed; later changes are new migrations.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE registries (
      -- project: whose tasks pull with these credentials.
      project text NOT NULL REFERENCES projects (name) ON DELETE CASCADE,
      -- host: the registry as image names carry it (host[:port], docker.io for Docker Hub), lowercase.
      host text NOT NULL,
      -- username: shown by list registries.
      username text NOT NULL,
      -- password_sealed: the password sealed with the scheduler's secret key (secrets/secret-box.ts), bound to project and host; never shown.
      password_sealed text NOT NULL,
      -- updated_by: the token that set these credentials last.
      updated_by text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (project, host)
    )`.execute(db);
  // pull_policy: when agents pull the app's task images: always, missing (only when the engine lacks it) or never.
  await sql`ALTER TABLE apps ADD COLUMN pull_policy text NOT NULL DEFAULT 'missing' CHECK (pull_policy IN ('always', 'missing', 'never'))`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE apps DROP COLUMN pull_policy`.execute(db);
  await sql`DROP TABLE registries`.execute(db);
}
