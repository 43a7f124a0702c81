import { sql, type Kysely } from 'kysely';

// Frozen in time: never edit once landed; later changes are new migrations.

const statements = [
  `
    CREATE TABLE projects (
      name        text PRIMARY KEY,                       -- project name, unique across the scheduler
      created_at  timestamptz NOT NULL DEFAULT now()
    );
  `,
  `
    CREATE TABLE stages (
      project     text NOT NULL REFERENCES projects (name) ON DELETE CASCADE,
      name        text NOT NULL,                          -- stage name, unique within its project
      created_at  timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (project, name)
    );
  `,
  `
    CREATE TABLE apps (
      id                 integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      project            text NOT NULL,
      stage              text NOT NULL,
      name               text NOT NULL,                   -- app name, unique within its stage
      image              text NOT NULL,                   -- the image repository releases come from
      default_cpu        double precision NOT NULL,       -- vCPUs a task gets unless it says otherwise
      default_memory_gb  double precision NOT NULL,       -- GB of memory a task gets unless it says otherwise
      default_max_hours  double precision,                -- time limit of its tasks; null = none
      active_release     integer,                         -- the release tasks run by default
      created_at         timestamptz NOT NULL DEFAULT now(),
      UNIQUE (project, stage, name),
      FOREIGN KEY (project, stage) REFERENCES stages (project, name) ON DELETE CASCADE
    );
  `,
  `
    CREATE TABLE releases (
      app_id      integer NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
      number      integer NOT NULL,                       -- 1, 2, 3… per app
      image       text NOT NULL,                          -- the full image reference of this release
      created_at  timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (app_id, number)
    );
  `,
  `
    CREATE TABLE tasks (
      id                    text PRIMARY KEY,             -- 32 hex characters
      app_id                integer NOT NULL REFERENCES apps (id) ON DELETE RESTRICT,
      release               integer,                      -- release number it runs; null when image= replaced it
      image                 text NOT NULL,                -- the exact image reference to run
      image_digest          text,                         -- digest the agent resolved, once known
      command               jsonb NOT NULL,               -- argv (Docker Cmd)
      entrypoint            jsonb,                        -- Docker Entrypoint override; null = the image's
      env                   jsonb NOT NULL DEFAULT '{}',  -- environment given to the container
      kind                  text NOT NULL,                -- background | interactive
      cpu                   double precision NOT NULL,    -- vCPUs
      memory_gb             double precision NOT NULL,    -- GB of memory, no extra swap
      max_hours             double precision,             -- time limit from the real start; null = none
      ephemeral_storage_gb  double precision,             -- writable-layer limit; null = none
      initiated_by          text,                         -- free text: who or what launched it
      created_by            text NOT NULL,                -- name of the API token that created it
      status                text NOT NULL,                -- PROVISIONING | PENDING | RUNNING | STOPPING | STOPPED
      desired_status        text NOT NULL,                -- RUNNING | STOPPED
      stop_code             text,                         -- why it stopped (EXITED, USER_STOPPED, …)
      stop_reason           text,                         -- human-readable detail of the stop
      stopped_by            text,                         -- token name that asked for the stop
      exit_code             integer,                      -- the container's exit code, when it exited
      agent_name            text,                         -- agent it was placed on
      attempt               integer NOT NULL DEFAULT 0,   -- placement epoch: reports for another attempt are stale
      stop_sent_at          timestamptz,                  -- when a stop was last sent to its agent
      peak_memory_bytes     bigint,                       -- usage reported at exit
      cpu_seconds           double precision,
      disk_bytes            bigint,
      log_count             integer NOT NULL DEFAULT 0,   -- lines stored; the next line's position is log_count + 1
      last_agent_seq        integer NOT NULL DEFAULT 0,   -- highest contiguous agent log seq stored (the ack)
      created_at            timestamptz NOT NULL DEFAULT now(),
      started_at            timestamptz,                  -- when the container started running
      finished_at           timestamptz                   -- when it reached STOPPED
    );
  `,
  `
    -- Listing newest first with keyset pagination, and per app / status.
    CREATE INDEX tasks_created_idx ON tasks (created_at DESC, id DESC);
  `,
  `
    CREATE INDEX tasks_app_created_idx ON tasks (app_id, created_at DESC, id DESC);
  `,
  `
    -- The placement queue: only waiting tasks, oldest first.
    CREATE INDEX tasks_provisioning_idx ON tasks (created_at) WHERE status = 'PROVISIONING';
  `,
  `
    -- Tasks held by agents (capacity, stops, deadlines, lost agents).
    CREATE INDEX tasks_agent_active_idx ON tasks (agent_name) WHERE status IN ('PENDING', 'RUNNING', 'STOPPING');
  `,
  `
    CREATE TABLE task_log_lines (
      task_id    text NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
      position   integer NOT NULL,                        -- 1, 2, 3… in the order lines were stored
      seq        integer,                                 -- the agent's sequence number; null for scheduler lines
      stream     text NOT NULL,                           -- stdout | stderr | system
      text       text NOT NULL,
      logged_at  timestamptz NOT NULL,                    -- when the line was produced
      PRIMARY KEY (task_id, position)
    );
  `,
  `
    CREATE TABLE task_events (
      id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      task_id         text NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
      status          text NOT NULL,                      -- status after the change
      desired_status  text NOT NULL,
      message         text,                               -- why, when there is more to say
      created_at      timestamptz NOT NULL DEFAULT now()
    );
  `,
  `
    CREATE INDEX task_events_task_idx ON task_events (task_id, id);
  `,
  `
    CREATE TABLE agents (
      name                text PRIMARY KEY,               -- TAPIT_AGENT_NAME, unique
      status              text NOT NULL,                  -- online | offline
      capacity_cpu        double precision NOT NULL,      -- vCPUs it offers
      capacity_memory_gb  double precision NOT NULL,      -- GB of memory it offers
      version             text,                           -- agent software version
      scheduler_id        text,                           -- replica it is connected to, when online
      connected_at        timestamptz,
      last_seen_at        timestamptz NOT NULL,           -- last heartbeat seen by any replica
      created_at          timestamptz NOT NULL DEFAULT now()
    );
  `,
  `
    CREATE TABLE tokens (
      id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      name        text NOT NULL UNIQUE,                   -- shown in audit records as the actor
      role        text NOT NULL,                          -- admin | member | viewer
      project     text,                                   -- limited to this project; null = all
      token_hash  text NOT NULL UNIQUE,                   -- sha256 of the secret, hex; the secret is never stored
      created_by  text,                                   -- token name that created it
      created_at  timestamptz NOT NULL DEFAULT now(),
      revoked_at  timestamptz                             -- set when revoked; a revoked token never works again
    );
  `,
  `
    CREATE TABLE audit_events (
      id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      actor        text NOT NULL,                         -- token name, or agent:<name>, or system
      action       text NOT NULL,                         -- e.g. task.create, task.stop, app.create
      target_type  text NOT NULL,                         -- task | app | release | token | project | stage
      target_id    text NOT NULL,
      project      text,
      source       text,                                  -- client address, when known
      details      jsonb NOT NULL DEFAULT '{}',
      created_at   timestamptz NOT NULL DEFAULT now()
    );
  `,
  `
    CREATE INDEX audit_events_created_idx ON audit_events (created_at DESC, id DESC);
  `,
  `
    -- The default project and stage exist from the first start (the CLI defaults to them).
    INSERT INTO projects (name) VALUES ('default');
  `,
  `
    INSERT INTO stages (project, name) VALUES ('default', 'default');
  `,
];

export async function up(db: Kysely<any>): Promise<void> {
  // One statement per query: the extended protocol (pg with parameters, PGlite) runs one at a time.
  for (const statement of statements) {
    await sql.raw(statement).execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    DROP TABLE audit_events, tokens, agents, task_events, task_log_lines, tasks, releases, apps, stages, projects;
  `.execute(db);
}
