import { sql, type Kysely } from 'kysely';

// Frozen in time: never edit once landed; later changes are new migrations.

export async function up(db: Kysely<any>): Promise<void> {
  // assigned_at: when task.assign was last sent; accepted_at: when the agent answered it.
  // A PENDING task assigned long ago and never accepted is sent again (a lost frame).
  await sql`ALTER TABLE tasks ADD COLUMN assigned_at timestamptz, ADD COLUMN accepted_at timestamptz`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE tasks DROP COLUMN assigned_at, DROP COLUMN accepted_at`.execute(db);
}
