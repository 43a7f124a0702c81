import { sql, type Kysely } from 'kysely';

// Frozen in time: never edit once landed; later changes are new migrations.

export async function up(db: Kysely<any>): Promise<void> {
  // read_only: the app's tasks run with a read-only root filesystem (a size-limited /tmp stays writable).
  await sql`ALTER TABLE apps ADD COLUMN read_only boolean NOT NULL DEFAULT false`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE apps DROP COLUMN read_only`.execute(db);
}
