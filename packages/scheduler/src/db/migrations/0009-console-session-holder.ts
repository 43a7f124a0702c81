import { sql, type Kysely } from 'kysely';

// Frozen in time: never edit once landed; later changes are new migrations.

export async function up(db: Kysely<any>): Promise<void> {
  // scheduler_id: the replica relaying the session (its TAPIT_SCHEDULER_ID); null for sessions
  // opened before this migration. A replica that died mid-session closes its own when it is back.
  await sql`ALTER TABLE console_sessions ADD COLUMN scheduler_id text`.execute(db);
  await sql`CREATE INDEX console_sessions_open_idx ON console_sessions (scheduler_id) WHERE closed_at IS NULL`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX console_sessions_open_idx`.execute(db);
  await sql`ALTER TABLE console_sessions DROP COLUMN scheduler_id`.execute(db);
}
