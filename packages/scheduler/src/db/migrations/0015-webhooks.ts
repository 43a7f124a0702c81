import { sql, type Kysely } from 'kysely';

// Frozen in time: never edit once landed; later changes are new migrations.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE webhooks (
      id           integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      schedule_id  text UNIQUE REFERENCES schedules (id) ON DELETE CASCADE, -- the schedule whose alerts go here; null for an app's default
      app_id       integer UNIQUE REFERENCES apps (id) ON DELETE CASCADE,   -- the app whose schedules without a webhook of their own alert here; null for a schedule's
      url          text NOT NULL,          -- where alerts are POSTed (http or https)
      secret       text NOT NULL,          -- the HMAC-SHA256 signing key (whsec_…): kept readable because signing needs it; shown to a user only in the answer that set it
      set_by       text NOT NULL,          -- name of the API token that set (or last replaced) it
      set_at       timestamptz NOT NULL DEFAULT now(),
      CHECK (num_nonnulls(schedule_id, app_id) = 1)
    )
  `.execute(db);
  await sql`
    CREATE TABLE webhook_deliveries (
      id               text PRIMARY KEY,        -- 32 lowercase hex characters; sent as Tapit-Delivery and in the body
      schedule_id      text NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
      scheduled_for    timestamptz NOT NULL,    -- the slot the alert is about (schedule_runs.scheduled_for)
      event            text NOT NULL,           -- run.failed | run.skipped | run.recovered
      body             text NOT NULL,           -- the JSON body exactly as sent and signed; fixed when the delivery is stored
      url              text NOT NULL,           -- where the last attempt went (each attempt goes to the webhook that applies when it is sent)
      status           text NOT NULL DEFAULT 'pending', -- pending | delivered | failed (given up after the retry window)
      attempts         integer NOT NULL DEFAULT 0, -- POSTs started so far, counted when one is claimed
      next_attempt_at  timestamptz,             -- while pending: when it is due; while an attempt is out, when its lease ends (then another replica may try again); null once final
      sending_since    timestamptz,             -- set while an attempt is out; still set at the next claim means that attempt's outcome was never recorded
      last_status_code integer,                 -- HTTP status of the last answer; null when none came
      last_error       text,                    -- why the last attempt did not count as delivered; null after a 2xx
      last_response    text,                    -- the start of the last answer's body, at most 1024 characters
      attempt_log      jsonb NOT NULL DEFAULT '[]', -- each attempt: {attempt, at, statusCode, error}, the latest 50
      created_at       timestamptz NOT NULL DEFAULT clock_timestamp(), -- when it was stored: the clock, not the transaction's start, so alerts stored together keep their order
      delivered_at     timestamptz,             -- when a 2xx came back
      UNIQUE (schedule_id, scheduled_for, event)
    )
  `.execute(db);
  // The delivery pass: due deliveries, soonest first.
  await sql`CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending'`.execute(db);
  // A schedule's deliveries, newest first (listing and pruning).
  await sql`CREATE INDEX webhook_deliveries_schedule_idx ON webhook_deliveries (schedule_id, created_at DESC, id DESC)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE webhook_deliveries`.execute(db);
  await sql`DROP TABLE webhooks`.execute(db);
}
