import { sql, type Kysely } from 'kysely';

// Frozen in time: never edit once landed; later changes are new migrations.

export async function up(db: Kysely<any>): Promise<void> {
  // missed: a skipped slot that no scheduler fired within the tolerance of its time (an outage, not a policy such as concurrency=forbid); such a slot makes its schedule `failing` until a run succeeds.
  await sql`ALTER TABLE schedule_runs ADD COLUMN missed boolean NOT NULL DEFAULT false`.execute(db);
  // Listing schedules newest first, in keyset pages.
  await sql`CREATE INDEX schedules_created_idx ON schedules (created_at, id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX schedules_created_idx`.execute(db);
  await sql`ALTER TABLE schedule_runs DROP COLUMN missed`.execute(db);
}
