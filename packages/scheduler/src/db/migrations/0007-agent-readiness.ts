import { sql, type Kysely } from 'kysely';

// Frozen in time: never edit once landed; later changes are new migrations.

export async function up(db: Kysely<any>): Promise<void> {
  // not_ready_reason: why an online agent takes no work now (e.g. "Docker engine unreachable: …"); null when ready.
  await sql`ALTER TABLE agents ADD COLUMN not_ready_reason text`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE agents DROP COLUMN not_ready_reason`.execute(db);
}
