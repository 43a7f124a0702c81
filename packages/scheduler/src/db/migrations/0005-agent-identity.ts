import { sql, type Kysely } from 'kysely';

// Frozen in time: never edit once landed; later changes are new migrations.

const statements = [
  `
    CREATE TABLE join_tokens (
      id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      name        text NOT NULL UNIQUE,                   -- shown in list join-tokens and as agents.joined_with
      token_hash  text NOT NULL UNIQUE,                   -- sha256 of the secret, hex; the secret is never stored
      max_uses    integer,                                -- agents it may admit in all; null = no limit
      uses        integer NOT NULL DEFAULT 0,             -- agents it admitted so far
      expires_at  timestamptz NOT NULL,                   -- it admits no agent from then on
      created_by  text,                                   -- token name that created it
      created_at  timestamptz NOT NULL DEFAULT now(),
      revoked_at  timestamptz                             -- set when revoked; it never admits an agent again
    );
  `,
  `
    ALTER TABLE agents
      ADD COLUMN credential_hash         text UNIQUE,                     -- sha256 of the agent's own credential, hex; null = bound to none yet (an agent from before 0005)
      ADD COLUMN bound_at                timestamptz,                     -- when that credential was bound; tasks placed on the name before it were another agent's; null = all are its own
      ADD COLUMN joined_with             text,                            -- join token that admitted it (TAPIT_AGENT_JOIN_TOKEN for the environment's)
      ADD COLUMN revoked_at              timestamptz,                     -- set by revoke agent: its credential never works again and its name stays taken until it is deleted
      ADD COLUMN drained                 boolean NOT NULL DEFAULT false,  -- no new tasks are placed on it; running ones go on
      ADD COLUMN capacity_cpu_set        double precision,                -- vCPUs an admin set in place of what it offers; null = what it offers
      ADD COLUMN capacity_memory_gb_set  double precision,                -- GB of memory an admin set in place of what it offers; null = what it offers
      ADD COLUMN labels                  jsonb NOT NULL DEFAULT '{}';     -- key=value labels it carries (TAPIT_AGENT_LABELS)
  `,
  `
    ALTER TABLE apps ADD COLUMN constraints jsonb NOT NULL DEFAULT '{}';   -- labels an agent must carry to run the app's tasks
  `,
  `
    ALTER TABLE tasks ADD COLUMN constraints jsonb NOT NULL DEFAULT '{}';  -- labels its agent must carry (the app's and its own)
  `,
];

export async function up(db: Kysely<any>): Promise<void> {
  // One statement per query: the extended protocol (pg with parameters, PGlite) runs one at a time.
  for (const statement of statements) {
    await sql.raw(statement).execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE tasks DROP COLUMN constraints`.execute(db);
  await sql`ALTER TABLE apps DROP COLUMN constraints`.execute(db);
  await sql`
    ALTER TABLE agents DROP COLUMN credential_hash, DROP COLUMN bound_at, DROP COLUMN joined_with, DROP COLUMN revoked_at,
      DROP COLUMN drained, DROP COLUMN capacity_cpu_set, DROP COLUMN capacity_memory_gb_set, DROP COLUMN labels
  `.execute(db);
  await sql`DROP TABLE join_tokens`.execute(db);
}
