import { sql, type Kysely } from 'kysely';

// Frozen in time: never edit once landed; later changes are new migrations.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE scheduler_replicas (
      -- id: the replica's TAPIT_SCHEDULER_ID, as agents.scheduler_id names it.
      id text PRIMARY KEY,
      -- advertise_url: where the other replicas reach it to relay a console, exec or copy to an agent it holds (TAPIT_ADVERTISE_URL).
      advertise_url text NOT NULL,
      -- started_at: when it last started (and wrote its address).
      started_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE scheduler_replicas`.execute(db);
}
