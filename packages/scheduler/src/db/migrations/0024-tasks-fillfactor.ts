import { sql, type Kysely } from 'kysely';

// Frozen in time: never edit once landed; later changes are new migrations.

// A task row is updated several times in its first seconds (placed, accepted, started, its log
// counters, stopped). With every page filled at insert, each update moved the row to another page
// and added an entry to every index of the table; room left on the page lets an update that
// changes no indexed column (acceptance, log counters, usage) stay on its page (a HOT update):
// no index is touched. Pages written from now on keep the room.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE tasks SET (fillfactor = 80)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE tasks RESET (fillfactor)`.execute(db);
}
