import { sql, type Kysely } from 'kysely';

// Frozen in time: never edit once landed; later changes are new migrations.

export async function up(db: Kysely<any>): Promise<void> {
  // initiated_by: who the client said started the change (its X-Initiated-By header, or a task's initiatedBy), at most 200 characters; null when it said nothing.
  await sql`ALTER TABLE audit_events ADD COLUMN initiated_by text`.execute(db);
  // initiated_by: the X-Initiated-By of the console or exec upgrade, recorded again with the session's end.
  await sql`ALTER TABLE console_sessions ADD COLUMN initiated_by text`.execute(db);
  // The audit trail's filters, each read newest first from where it starts (audit_events_created_idx serves none).
  await sql`CREATE INDEX audit_events_actor_idx ON audit_events (actor, created_at DESC, id DESC)`.execute(db);
  await sql`CREATE INDEX audit_events_action_idx ON audit_events (action, created_at DESC, id DESC)`.execute(db);
  // Byte order, so that a task id prefix is a range of this index.
  await sql`CREATE INDEX audit_events_target_idx ON audit_events (target_id COLLATE "C", created_at DESC, id DESC)`.execute(db);
  // A project's readers see only its events.
  await sql`CREATE INDEX audit_events_project_idx ON audit_events (project, created_at DESC, id DESC)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX audit_events_project_idx`.execute(db);
  await sql`DROP INDEX audit_events_target_idx`.execute(db);
  await sql`DROP INDEX audit_events_action_idx`.execute(db);
  await sql`DROP INDEX audit_events_actor_idx`.execute(db);
  await sql`ALTER TABLE console_sessions DROP COLUMN initiated_by`.execute(db);
  await sql`ALTER TABLE audit_events DROP COLUMN initiated_by`.execute(db);
}
