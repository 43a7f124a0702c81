import { sql, type Kysely } from 'kysely';

// Frozen in time: never edit once landed; later changes are new migrations.

export async function up(db: Kysely<any>): Promise<void> {
  // Interactive tasks: the user's terminal size when the task was created, so the console starts at it.
  await sql`ALTER TABLE tasks ADD COLUMN terminal_cols integer, ADD COLUMN terminal_rows integer`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE tasks DROP COLUMN terminal_cols, DROP COLUMN terminal_rows`.execute(db);
}
