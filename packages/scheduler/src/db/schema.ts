import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';
import type { ScheduleTaskTemplate } from '@tapit/protocol';

/*
 * Table types for kysely. Columns are documented in the migrations, which are the source of
 * truth; these interfaces mirror them.
 */

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json<T> = ColumnType<T, string, string>;
/** A jsonb column with a default: optional on insert. */
type JsonWithDefault<T> = ColumnType<T, string | undefined, string>;

export interface ProjectsTable {
  name: string;
  created_at: CreatedAt;
}

export interface StagesTable {
  project: string;
  name: string;
  created_at: CreatedAt;
}

export interface AppsTable {
  id: Generated<number>;
  project: string;
  stage: string;
  name: string;
  image: string;
  default_cpu: number;
  default_memory_gb: number;
  default_max_hours: number | null;
  active_release: number | null;
  record_input: Generated<boolean>;
  constraints: JsonWithDefault<Record<string, string>>;
  read_only: Generated<boolean>;
  log_retention_days: number | null;
  pull_policy: Generated<'always' | 'missing' | 'never'>;
  created_at: CreatedAt;
}

export interface ReleasesTable {
  app_id: number;
  number: number;
  image: string;
  created_at: CreatedAt;
}

export interface TasksTable {
  id: string;
  app_id: number;
  release: number | null;
  image: string;
  image_digest: string | null;
  command: Json<string[]>;
  entrypoint: Json<string[] | null>;
  env: Json<Record<string, string>>;
  kind: string;
  cpu: number;
  memory_gb: number;
  max_hours: number | null;
  ephemeral_storage_gb: number | null;
  initiated_by: string | null;
  created_by: string;
  status: string;
  desired_status: string;
  stop_code: string | null;
  stop_reason: string | null;
  stopped_by: string | null;
  exit_code: number | null;
  agent_name: string | null;
  attempt: Generated<number>;
  stop_sent_at: Timestamp | null;
  peak_memory_bytes: number | null;
  cpu_seconds: number | null;
  disk_bytes: number | null;
  log_count: Generated<number>;
  last_agent_seq: Generated<number>;
  log_bytes: Generated<number>;
  created_at: CreatedAt;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  terminal_cols: number | null;
  terminal_rows: number | null;
  assigned_at: Timestamp | null;
  accepted_at: Timestamp | null;
  late_report_until: Timestamp | null;
  schedule_id: string | null;
  scheduled_for: Timestamp | null;
  schedule_attempt: number | null;
  constraints: JsonWithDefault<Record<string, string>>;
  log_expired_at: Timestamp | null;
  log_purged_at: Timestamp | null;
  log_dropped_bytes: Generated<number>;
  log_dropped_lines: Generated<number>;
  env_sealed: string | null;
  env_keys: JsonWithDefault<string[]>;
  /** Seconds its agent keeps the container after the end, for `tapit cp`; null: removed at once. */
  keep_seconds: number | null;
}

export interface AppEnvVarsTable {
  app_id: number;
  key: string;
  value: string;
  secret: boolean;
  set_at: ColumnType<Date, Date | string | undefined, Date | string>;
  set_by: string;
}

/** A task's log as stored before migration 0014, one row per line: read, no longer written. */
export interface TaskLogLinesTable {
  task_id: string;
  position: number;
  seq: number | null;
  stream: string;
  text: string;
  logged_at: Timestamp;
}

export interface TaskLogChunksTable {
  task_id: string;
  first_position: number;
  last_position: number;
  first_seq: number | null;
  streams: number;
  earliest_at: Timestamp;
  latest_at: Timestamp;
  text_bytes: number;
  encoding: number;
  body: Buffer;
}

export interface TaskEventsTable {
  id: Generated<number>;
  task_id: string;
  status: string;
  desired_status: string;
  message: string | null;
  created_at: CreatedAt;
}

/** Files copied into a task's container before it starts, kept until it runs or stops. */
export interface TaskFilesTable {
  task_id: string;
  position: number;
  path: string;
  mode: number;
  content: Buffer;
}

export interface AgentsTable {
  name: string;
  status: string;
  capacity_cpu: number;
  capacity_memory_gb: number;
  version: string | null;
  scheduler_id: string | null;
  connected_at: Timestamp | null;
  last_seen_at: Timestamp;
  created_at: CreatedAt;
  not_ready_reason: string | null;
  credential_hash: string | null;
  bound_at: Timestamp | null;
  joined_with: string | null;
  revoked_at: Timestamp | null;
  drained: ColumnType<boolean, boolean | undefined, boolean>;
  capacity_cpu_set: number | null;
  capacity_memory_gb_set: number | null;
  labels: JsonWithDefault<Record<string, string>>;
}

/** A scheduler replica and the address the others relay to it through (migration 0021). */
export interface SchedulerReplicasTable {
  id: string;
  advertise_url: string;
  started_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** A dashboard sign-in (migration 0023): the hash of the cookie's session id and its token. */
export interface DashboardSessionsTable {
  session_hash: string;
  token_id: number;
  created_at: CreatedAt;
  expires_at: Timestamp;
}

export interface JoinTokensTable {
  id: Generated<number>;
  name: string;
  token_hash: string;
  max_uses: number | null;
  uses: Generated<number>;
  expires_at: Timestamp;
  created_by: string | null;
  created_at: CreatedAt;
  revoked_at: Timestamp | null;
}

export interface TokensTable {
  id: Generated<number>;
  name: string;
  role: string;
  project: string | null;
  token_hash: string;
  created_by: string | null;
  created_at: CreatedAt;
  revoked_at: Timestamp | null;
}

export interface AuditEventsTable {
  id: Generated<number>;
  actor: string;
  action: string;
  target_type: string;
  target_id: string;
  project: string | null;
  source: string | null;
  details: Json<Record<string, unknown>>;
  created_at: CreatedAt;
  /** Who the client said started it (X-Initiated-By, a task's initiatedBy); null before migration 0017. */
  initiated_by: string | null;
}

export interface ConsoleSessionsTable {
  id: string;
  task_id: string;
  mode: string;
  command: Json<string[] | null>;
  tty: boolean;
  cols: number;
  rows: number;
  opened_by: string;
  source: string | null;
  opened_at: CreatedAt;
  closed_at: Timestamp | null;
  exit_code: number | null;
  end_reason: string | null;
  /** The replica relaying the session (TAPIT_SCHEDULER_ID); null before migration 0009. */
  scheduler_id: string | null;
  input_recorded: Generated<boolean>;
  /** The upgrade's X-Initiated-By, for the audit event of the session's end; null before migration 0017. */
  initiated_by: string | null;
}

export interface ConsoleRecordingChunksTable {
  session_id: string;
  seq: number;
  events: string;
}

export interface IdempotencyKeysTable {
  id: Generated<number>;
  principal: string;
  key_hash: string;
  fingerprint: string;
  response: string | null;
  created_at: CreatedAt;
  expires_at: Timestamp;
}

export interface SchedulesTable {
  id: string;
  app_id: number;
  cron: string;
  timezone: string;
  concurrency: string;
  missed: string;
  starting_deadline_seconds: number | null;
  retries: Generated<number>;
  task: Json<ScheduleTaskTemplate>;
  suspended: Generated<boolean>;
  next_run_at: Timestamp;
  created_by: string;
  created_at: CreatedAt;
}

export interface ScheduleRunsTable {
  schedule_id: string;
  scheduled_for: Timestamp;
  trigger: string;
  outcome: string;
  reason: string | null;
  attempts: Generated<number>;
  next_attempt_at: Timestamp | null;
  created_at: CreatedAt;
  finished_at: Timestamp | null;
  missed: Generated<boolean>;
}

export interface RegistriesTable {
  project: string;
  host: string;
  username: string;
  password_sealed: string;
  updated_by: string | null;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface WebhooksTable {
  id: Generated<number>;
  schedule_id: string | null;
  app_id: number | null;
  url: string;
  secret: string;
  set_by: string;
  set_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** One attempt of a delivery, as `webhook_deliveries.attempt_log` keeps it. */
export interface DeliveryAttemptEntry {
  attempt: number;
  at: string;
  statusCode: number | null;
  error: string | null;
}

export interface WebhookDeliveriesTable {
  id: string;
  schedule_id: string;
  scheduled_for: Timestamp;
  event: string;
  body: string;
  url: string;
  status: Generated<string>;
  attempts: Generated<number>;
  next_attempt_at: Timestamp | null;
  sending_since: Timestamp | null;
  last_status_code: number | null;
  last_error: string | null;
  last_response: string | null;
  attempt_log: JsonWithDefault<DeliveryAttemptEntry[]>;
  created_at: CreatedAt;
  delivered_at: Timestamp | null;
}

export interface Database {
  projects: ProjectsTable;
  stages: StagesTable;
  apps: AppsTable;
  releases: ReleasesTable;
  app_env_vars: AppEnvVarsTable;
  tasks: TasksTable;
  task_log_lines: TaskLogLinesTable;
  task_log_chunks: TaskLogChunksTable;
  task_events: TaskEventsTable;
  task_files: TaskFilesTable;
  agents: AgentsTable;
  tokens: TokensTable;
  join_tokens: JoinTokensTable;
  audit_events: AuditEventsTable;
  console_sessions: ConsoleSessionsTable;
  console_recording_chunks: ConsoleRecordingChunksTable;
  idempotency_keys: IdempotencyKeysTable;
  schedules: SchedulesTable;
  schedule_runs: ScheduleRunsTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  registries: RegistriesTable;
  scheduler_replicas: SchedulerReplicasTable;
  dashboard_sessions: DashboardSessionsTable;
}

export type TaskRow = Selectable<TasksTable>;
export type NewTaskRow = Insertable<TasksTable>;
export type AppRow = Selectable<AppsTable>;
export type AppEnvVarRow = Selectable<AppEnvVarsTable>;
export type AgentRow = Selectable<AgentsTable>;
export type TokenRow = Selectable<TokensTable>;
export type JoinTokenRow = Selectable<JoinTokensTable>;
export type ScheduleRow = Selectable<SchedulesTable>;
export type ScheduleRunRow = Selectable<ScheduleRunsTable>;
export type WebhookRow = Selectable<WebhooksTable>;
export type WebhookDeliveryRow = Selectable<WebhookDeliveriesTable>;
