import { sql, type Kysely } from 'kysely';

// Frozen in time: never edit once landed; later changes are new migrations.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE schedules (
      id                        text PRIMARY KEY,         -- 32 lowercase hex characters, like task ids
      app_id                    integer NOT NULL REFERENCES apps (id),
      cron                      text NOT NULL,            -- the expression as given (5 or 6 fields, or a macro)
      timezone                  text NOT NULL,            -- IANA zone its slots are computed in; 'UTC' when none was given
      concurrency               text NOT NULL,            -- allow | forbid | replace: what a slot does while an earlier run is active
      missed                    text NOT NULL,            -- skip | latest: what happens to slots that passed while no scheduler fired them
      starting_deadline_seconds integer,                  -- a missed slot older than this is never run, only recorded as skipped; null = no limit
      retries                   integer NOT NULL DEFAULT 0, -- attempts after the first for a run that ends other than EXITED 0 or USER_STOPPED
      task                      jsonb NOT NULL,           -- what each run creates: the template of the task (command, image, resources…)
      suspended                 boolean NOT NULL DEFAULT false, -- no slot fires while set; slots that pass meanwhile are not runs
      next_run_at               timestamptz NOT NULL,     -- the earliest cron slot not yet fired or recorded as skipped: every slot before it has its schedule_runs row
      created_by                text NOT NULL,            -- name of the API token that created it
      created_at                timestamptz NOT NULL DEFAULT now()
    )
  `.execute(db);
  // The firing pass: due schedules, soonest first.
  await sql`CREATE INDEX schedules_due_idx ON schedules (next_run_at) WHERE NOT suspended`.execute(db);
  await sql`CREATE INDEX schedules_app_idx ON schedules (app_id)`.execute(db);
  await sql`
    CREATE TABLE schedule_runs (
      schedule_id     text NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
      scheduled_for   timestamptz NOT NULL,   -- the slot (a cron time, or the instant of a manual trigger); one row per slot, whichever replica fires it
      trigger         text NOT NULL,          -- cron | manual
      outcome         text NOT NULL,          -- running | retrying | succeeded | stopped | failed | skipped
      reason          text,                   -- why it was skipped or failed, in words
      attempts        integer NOT NULL DEFAULT 0, -- tasks created for the slot so far (the first run, then retries)
      next_attempt_at timestamptz,            -- while retrying: when the next attempt's task is created
      created_at      timestamptz NOT NULL DEFAULT now(),
      finished_at     timestamptz,            -- when the outcome became final
      PRIMARY KEY (schedule_id, scheduled_for)
    )
  `.execute(db);
  // Runs whose outcome is not final yet: what the passes watch.
  await sql`CREATE INDEX schedule_runs_open_idx ON schedule_runs (outcome) WHERE outcome IN ('running', 'retrying')`.execute(db);
  // schedule_id: the schedule whose slot created this task (null for tasks created otherwise); kept when the schedule is deleted.
  await sql`ALTER TABLE tasks ADD COLUMN schedule_id text`.execute(db);
  // scheduled_for: the slot of that schedule this task runs.
  await sql`ALTER TABLE tasks ADD COLUMN scheduled_for timestamptz`.execute(db);
  // schedule_attempt: 1 for a slot's first task, 2… for its retries.
  await sql`ALTER TABLE tasks ADD COLUMN schedule_attempt integer`.execute(db);
  await sql`CREATE INDEX tasks_schedule_idx ON tasks (schedule_id, scheduled_for, schedule_attempt) WHERE schedule_id IS NOT NULL`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX tasks_schedule_idx`.execute(db);
  await sql`ALTER TABLE tasks DROP COLUMN schedule_attempt, DROP COLUMN scheduled_for, DROP COLUMN schedule_id`.execute(db);
  await sql`DROP TABLE schedule_runs`.execute(db);
  await sql`DROP TABLE schedules`.execute(db);
}
