import { sql, type Kysely } from 'kysely';

// Frozen in time: never edit once landed; later changes are new migrations.

// `list tasks` with one status, newest first: an ordered scan that stops after a page, however
// few or many tasks have that status (before, a status filter read every match and sorted it, or
// filtered the newest tasks one by one). Each costs an index entry per task row version.
export async function up(db: Kysely<any>): Promise<void> {
  // All projects (an admin's listing), status=X.
  await sql`CREATE INDEX tasks_status_created_idx ON tasks (status, created_at DESC, id DESC)`.execute(db);
  // One app's page, status=X (as `tapit list tasks -a web --status RUNNING`; a stage or project scope reads a page per app).
  await sql`CREATE INDEX tasks_app_status_created_idx ON tasks (app_id, status, created_at DESC, id DESC)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX tasks_app_status_created_idx`.execute(db);
  await sql`DROP INDEX tasks_status_created_idx`.execute(db);
}
