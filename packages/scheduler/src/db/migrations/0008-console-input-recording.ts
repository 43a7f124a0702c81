import { sql, type Kysely } from 'kysely';

// Frozen in time: never edit once landed; later changes are new migrations.

const statements = [
  // apps.record_input: consoles and execs of the app's tasks record what users type ("i" events); off: output only.
  `ALTER TABLE apps ADD COLUMN record_input boolean NOT NULL DEFAULT false`,
  // console_sessions.input_recorded: whether this session's recording holds what the user typed.
  // Sessions recorded before this migration did; new ones say so explicitly.
  `ALTER TABLE console_sessions ADD COLUMN input_recorded boolean NOT NULL DEFAULT true`,
  `ALTER TABLE console_sessions ALTER COLUMN input_recorded SET DEFAULT false`,
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE console_sessions DROP COLUMN input_recorded`.execute(db);
  await sql`ALTER TABLE apps DROP COLUMN record_input`.execute(db);
}
