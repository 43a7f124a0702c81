import { sql, type Kysely } from 'kysely';

// Frozen in time: never edit once landed; later changes are new migrations.

export async function up(db: Kysely<any>): Promise<void> {
  // late_report_until: set when the scheduler ended a task its agent could not report on (AGENT_LOST, or TIMED_OUT past the slack); until then log followers wait for the agent's late report (last lines, real exit code); cleared when it arrives. Null = the log is complete once the task is STOPPED.
  await sql`ALTER TABLE tasks ADD COLUMN late_report_until timestamptz`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE tasks DROP COLUMN late_report_until`.execute(db);
}
