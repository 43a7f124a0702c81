import { sql, type Kysely } from 'kysely';

// Frozen in time: never edit once landed; later changes are new migrations.

// The dashboard's sign-ins: a browser holds the session id in a cookie, the database only its
// hash, so a copy of this table signs nobody in. Every page request joins the token, so a revoked
// token ends its sessions at once.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE dashboard_sessions (
      -- session_hash: sha256 of the session id the cookie carries, hex; the id itself is never stored.
      session_hash text PRIMARY KEY,
      -- token_id: the API token signed in with; its role, project and revocation are read on every request.
      token_id integer NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
      -- created_at: when the token was exchanged for this session.
      created_at timestamptz NOT NULL DEFAULT now(),
      -- expires_at: the session ends then, whatever the browser keeps.
      expires_at timestamptz NOT NULL
    )`.execute(db);
  // Expired sessions are deleted by their expiry; a token's sessions by its id (sign-out of all).
  await sql`CREATE INDEX dashboard_sessions_expires_idx ON dashboard_sessions (expires_at)`.execute(db);
  await sql`CREATE INDEX dashboard_sessions_token_idx ON dashboard_sessions (token_id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE dashboard_sessions`.execute(db);
}
