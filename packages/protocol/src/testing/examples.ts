import type { z } from 'zod';
import type * as protocol from '../index.js';

/*
 * One or more valid values of every schema the package exports, as a sender would write them.
 * `index.test.ts` checks that every exported schema has an entry here and that each value crosses
 * the wire unchanged; the tests beside each schema derive their invalid cases from these, one
 * field at a time, so a rejection can only come from the field under test.
 */

type Exports = typeof protocol;
/** Names of the exported zod schemas. */
export type SchemaName = { [K in keyof Exports]: Exports[K] extends z.ZodType ? K : never }[keyof Exports];
/** Schemas of URL query strings: they coerce and transform, so their output is not their input. */
export type QuerySchemaName = 'ListTasksQuery' | 'LogQuery' | 'LogChunkQuery' | 'LogChunkFollowQuery' | 'LogFollowQuery' | 'LogFilterQuery' | 'OpenConsoleQuery' | 'ListSchedulesQuery' | 'ListDeliveriesQuery' | 'ListAuditQuery';
export const QUERY_SCHEMAS: readonly QuerySchemaName[] = ['ListTasksQuery', 'LogQuery', 'LogChunkQuery', 'LogChunkFollowQuery', 'LogFollowQuery', 'LogFilterQuery', 'OpenConsoleQuery', 'ListSchedulesQuery', 'ListDeliveriesQuery', 'ListAuditQuery'];

type Example<K extends SchemaName> = z.input<Exports[K]>;

export const taskId = '3f2a9c0d1b4e5f60718293a4b5c6d7e8';
export const otherTaskId = '0000000000000000000000000000002a';
export const createdAt = '2021-03-17T09:58:20.118Z';
export const startedAt = '2021-03-17T09:58:31.004Z';
export const finishedAt = '2021-03-17T09:59:02.771Z';
const digest = `sha256:${'4b1d'.repeat(16)}`;

export const resources = { cpu: 0.25, memoryGb: 0.5, maxHours: 1.5, ephemeralStorageGb: 20 } satisfies Example<'TaskResources'>;
export const unlimitedResources = { cpu: 2, memoryGb: 4, maxHours: null, ephemeralStorageGb: null } satisfies Example<'TaskResources'>;
export const usage = { peakMemoryBytes: 73_400_320, cpuSeconds: 12.37, diskBytes: 4096 } satisfies Example<'ResourceUsage'>;
export const unmeasuredUsage = { peakMemoryBytes: null, cpuSeconds: null, diskBytes: null } satisfies Example<'ResourceUsage'>;
export const capacity = { cpu: 8, memoryGb: 31.25 } satisfies Example<'Capacity'>;

// --- HTTP bodies and answers -------------------------------------------------------------------

export const health = { status: 'ok', version: '0.1.0', database: 'postgres' } satisfies Example<'Health'>;

export const validationError = {
  error: { code: 'VALIDATION_FAILED', message: 'memoryGb: must be at most 1024 GB', field: 'memoryGb' },
} satisfies Example<'ApiErrorBody'>;
export const notFoundError = { error: { code: 'NOT_FOUND', message: 'no task 3f2a9c0d' } } satisfies Example<'ApiErrorBody'>;
export const databaseUnavailableError = {
  error: { code: 'DATABASE_UNAVAILABLE', message: "the scheduler's database is unavailable (connect ECONNREFUSED 127.0.0.1:5432); retry in 2 s" },
} satisfies Example<'ApiErrorBody'>;

export const createProjectRequest = { name: 'shop' } satisfies Example<'CreateProjectRequest'>;
export const project = { name: 'shop', stages: ['default', 'staging'], createdAt } satisfies Example<'Project'>;
export const createStageRequest = { name: 'staging' } satisfies Example<'CreateStageRequest'>;

export const createAppRequest = {
  name: 'web',
  image: 'ghcr.io/acme/web:1.4.2',
  cpu: 0.5,
  memoryGb: 1,
  maxHours: null,
  constraints: { region: 'eu' },
} satisfies Example<'CreateAppRequest'>;
export const app = {
  project: 'shop',
  stage: 'default',
  name: 'web',
  image: 'ghcr.io/acme/web',
  defaults: { cpu: 0.25, memoryGb: 0.5, maxHours: null },
  readOnly: false,
  activeRelease: 3,
  recordInput: false,
  constraints: { region: 'eu' },
  logRetentionDays: null,
  pullPolicy: 'missing',
  createdAt,
} satisfies Example<'App'>;
export const registry = { project: 'shop', host: 'ghcr.io', username: 'acme-ci', updatedBy: 'admin', createdAt, updatedAt: createdAt } satisfies Example<'Registry'>;
export const pullAuth = { registry: 'ghcr.io', username: 'acme-ci', password: 'ghp_example' } satisfies Example<'PullAuth'>;
export const updateAppRequest = { constraints: { region: 'eu', gpu: 'true' } } satisfies Example<'UpdateAppRequest'>;
export const createReleaseRequest = { image: 'ghcr.io/acme/web:1.4.3' } satisfies Example<'CreateReleaseRequest'>;
export const release = { number: 3, image: 'ghcr.io/acme/web:1.4.3', active: true, createdAt } satisfies Example<'Release'>;

/** `tapit create task 'bin/rails db:migrate' docker_tag=1.4.3 …`: a shell line. */
export const createShellTask = {
  command: 'bin/rails db:migrate',
  kind: 'background',
  dockerTag: '1.4.3',
  cpu: 1,
  memoryGb: 2,
  maxHours: 1.5,
  ephemeralStorageGb: 10,
  initiatedBy: 'deploy-bot',
  constraints: { gpu: 'true' },
} satisfies Example<'CreateTaskRequest'>;
/** `tapit task:run --release 2 --interactive --entrypoint /usr/bin/env -- python manage.py shell`. */
export const createExecTask = {
  args: ['python', 'manage.py', 'shell'],
  entrypoint: ['/usr/bin/env'],
  kind: 'interactive',
  release: 2,
} satisfies Example<'CreateTaskRequest'>;
/** `--file ./fix.rb:/app/fix.rb`: a file's bytes (here `puts 1\n`), copied in before the start. */
export const taskFile = { path: '/app/fix.rb', mode: 0o644, content: 'cHV0cyAxCg==' } satisfies Example<'TaskFile'>;
/** `tapit create task 'ruby /app/fix.rb' --file ./fix.rb:/app/fix.rb`. */
export const createTaskWithFiles = { command: 'ruby /app/fix.rb', kind: 'background', files: [taskFile], keepSeconds: 3600 } satisfies Example<'CreateTaskRequest'>;
/** `tapit run 'sh' image=busybox:1.36`: another image than the app's. */
export const createImageTask = { command: 'sh', kind: 'interactive', image: 'busybox:1.36', terminal: { cols: 100, rows: 30 } } satisfies Example<'CreateTaskRequest'>;

export const task = {
  id: taskId,
  project: 'shop',
  stage: 'default',
  app: 'web',
  release: 3,
  image: 'ghcr.io/acme/web:1.4.3',
  imageDigest: digest,
  command: ['/bin/sh', '-c', 'bin/rails db:migrate'],
  entrypoint: null,
  kind: 'background',
  resources,
  initiatedBy: 'deploy-bot',
  createdBy: 'ci',
  status: 'STOPPED',
  desiredStatus: 'STOPPED',
  stopCode: 'EXITED',
  stopReason: null,
  stoppedBy: null,
  exitCode: 0,
  agent: 'host-a',
  constraints: { region: 'eu', gpu: 'true' },
  usage,
  createdAt,
  startedAt,
  finishedAt,
  scheduleId: null,
  scheduledFor: null,
} satisfies Example<'Task'>;
export const provisioningTask = {
  ...task,
  id: otherTaskId,
  release: null,
  image: 'busybox:1.36',
  imageDigest: null,
  command: ['bash'],
  entrypoint: ['/docker-entrypoint.sh'],
  kind: 'interactive',
  resources: unlimitedResources,
  initiatedBy: null,
  status: 'PROVISIONING',
  desiredStatus: 'RUNNING',
  stopCode: null,
  exitCode: null,
  agent: null,
  constraints: {},
  usage: unmeasuredUsage,
  startedAt: null,
  finishedAt: null,
} satisfies Example<'Task'>;
export const taskList = { items: [provisioningTask, task], nextCursor: 'MjAyMS0wMy0xN1QwOTo1ODoyMC4xMTha' } satisfies Example<'TaskList'>;

export const stdoutLine = { position: 7, stream: 'stdout', text: 'Migrating to CreateUsers (20210317095834)', at: startedAt } satisfies Example<'LogLine'>;
export const systemLine = {
  position: 8,
  stream: 'system',
  text: 'Task status is STOPPED, desired status is STOPPED',
  at: finishedAt,
} satisfies Example<'LogLine'>;
export const logPage = { lines: [stdoutLine, systemLine], last: 8, complete: true } satisfies Example<'LogPage'>;
export const stdoutRun = { stream: 'stdout', at: startedAt, lines: 3, text: '1\n2\n3\n' } satisfies Example<'LogRun'>;
/** A line with a line break of its own is a run of one line. */
export const systemRun = { stream: 'system', at: finishedAt, lines: 1, text: 'Task stopped: FAILED_TO_START - first\nsecond\n' } satisfies Example<'LogRun'>;
export const logChunk = { first: 7, runs: [stdoutRun, { stream: 'stderr', at: startedAt, lines: 1, text: 'ünïcödé, "quotes" and \\ survive\n' }, systemRun] } satisfies Example<'LogChunk'>;
export const logChunkPage = { chunks: [logChunk], last: 11, more: false, complete: true } satisfies Example<'LogChunkPage'>;

export const agentView = {
  name: 'host-a',
  status: 'online',
  labels: { region: 'eu', gpu: 'true' },
  version: '0.1.0',
  lastSeenAt: finishedAt,
  connectedAt: createdAt,
  ready: true,
  notReadyReason: null,
  drained: false,
  capacity,
  capacitySet: false,
  allocated: { cpu: 0, memoryGb: 0 },
  runningTasks: 0,
} satisfies Example<'AgentView'>;
export const offlineAgentView = { ...agentView, name: 'host-b', status: 'offline', ready: false, version: null, connectedAt: null, drained: true } satisfies Example<'AgentView'>;
export const notReadyAgentView = { ...agentView, name: 'host-c', ready: false, notReadyReason: 'Docker engine unreachable: connect ENOENT /var/run/docker.sock' } satisfies Example<'AgentView'>;
/** As a token limited to one project sees an agent running its tasks. */
export const projectAgentView = { name: 'host-a', status: 'online', labels: {}, version: '0.1.0', lastSeenAt: finishedAt, connectedAt: createdAt } satisfies Example<'AgentView'>;
export const updateAgentRequest = { cpu: 6, memoryGb: null, drained: true } satisfies Example<'UpdateAgentRequest'>;

export const createJoinTokenRequest = { name: 'rack-4', uses: 3, expiresInSeconds: 3600 } satisfies Example<'CreateJoinTokenRequest'>;
export const joinTokenView = { name: 'rack-4', used: 1, uses: 3, expiresAt: finishedAt, createdBy: 'bootstrap', createdAt, revokedAt: null } satisfies Example<'JoinTokenView'>;
export const createdJoinToken = { ...joinTokenView, used: 0, token: 'tapit_join_q2Zr8mV1xJ0cL7uQ2aBcDeFgH' } satisfies Example<'CreatedJoinToken'>;

export const createTokenRequest = { name: 'ci', role: 'member', project: 'shop' } satisfies Example<'CreateTokenRequest'>;
export const tokenView = { name: 'ci', role: 'member', project: 'shop', createdAt, revokedAt: null } satisfies Example<'TokenView'>;
export const adminTokenView = { name: 'admin', role: 'admin', project: null, createdAt, revokedAt: finishedAt } satisfies Example<'TokenView'>;
export const createdToken = { ...tokenView, token: 'tapit_3Zq8mV1xJ0cL7uQ2' } satisfies Example<'CreatedToken'>;
export const whoAmI = { name: 'ci', role: 'member', project: 'shop' } satisfies Example<'WhoAmI'>;

export const envVar = { key: 'RAILS_ENV', secret: false, value: 'production', setAt: createdAt, setBy: 'ci' } satisfies Example<'EnvVar'>;
export const secretEnvVar = { key: 'DATABASE_URL', secret: true, value: null, setAt: startedAt, setBy: 'admin' } satisfies Example<'EnvVar'>;

// --- agent websocket frames ---------------------------------------------------------------------

export const taskSpec = {
  taskId,
  image: `ghcr.io/acme/web@${digest}`,
  command: ['/bin/sh', '-c', 'bin/rails db:migrate'],
  entrypoint: null,
  env: { RAILS_ENV: 'production', DATABASE_URL: 'postgres://db/shop' },
  secretKeys: ['DATABASE_URL'],
  kind: 'background',
  resources,
  startedAt: null,
  labels: { 'tapit.task': taskId, 'tapit.app': 'web' },
  project: 'shop',
  readOnly: true,
} satisfies Example<'TaskSpec'>;
export const interactiveTaskSpec = {
  ...taskSpec,
  taskId: otherTaskId,
  command: ['bash'],
  entrypoint: ['/docker-entrypoint.sh'],
  env: {},
  kind: 'interactive',
  resources: unlimitedResources,
  startedAt,
  labels: {},
  terminal: { cols: 120, rows: 40 },
  readOnly: false,
  files: [taskFile, { path: '/usr/local/bin/run-me', mode: 0o755, content: 'IyEvYmluL3NoCg==' }],
  keepSeconds: 600,
} satisfies Example<'TaskSpec'>;

export const hello = {
  type: 'hello',
  protocolVersion: 1,
  agentName: 'host-a',
  agentVersion: '0.1.0',
  capacity,
  tasks: [
    { taskId, lastSeq: 45, state: 'exited' },
    { taskId: otherTaskId, lastSeq: 0, state: 'pending' },
  ],
} satisfies Example<'Hello'>;
/** A first contact, on a connection opened with a join token: the agent registers its credential. */
export const joiningHello = { ...hello, tasks: [], credential: 'c'.repeat(43), labels: { region: 'eu', gpu: 'true' } } satisfies Example<'Hello'>;
export const heartbeat = { type: 'heartbeat', at: startedAt } satisfies Example<'Heartbeat'>;
export const notReady = { ready: false, reason: 'Docker engine unreachable: connect ENOENT /var/run/docker.sock' } satisfies Example<'AgentReadiness'>;
export const notReadyHeartbeat = { type: 'heartbeat', at: finishedAt, readiness: notReady } satisfies Example<'Heartbeat'>;
export const recoveringHello = { ...hello, readiness: notReady, recovering: true } satisfies Example<'Hello'>;
export const taskAccepted = { type: 'task.accepted', taskId } satisfies Example<'TaskAccepted'>;
export const taskStatusChanged = { type: 'task.status', taskId, status: 'RUNNING', at: startedAt, imageDigest: digest } satisfies Example<'TaskStatusChanged'>;
export const taskPending = { type: 'task.status', taskId, status: 'PENDING', at: createdAt } satisfies Example<'TaskStatusChanged'>;
export const taskLog = {
  type: 'task.log',
  taskId,
  seq: 43,
  lines: [
    { stream: 'stdout', text: 'Migrating to CreateUsers (20210317095834)', at: startedAt },
    { stream: 'stderr', text: 'DEPRECATION WARNING: ünïcödé, "quotes" and \\ survive', at: startedAt },
    { stream: 'system', text: '', at: finishedAt },
  ],
} satisfies Example<'TaskLog'>;
export const taskLogChunk = { type: 'task.log.chunk', taskId, seq: 43, runs: [stdoutRun, { stream: 'system', at: finishedAt, lines: 1, text: '\n' }] } satisfies Example<'TaskLogChunk'>;
export const taskExited = {
  type: 'task.exited',
  taskId,
  stopCode: 'EXITED',
  exitCode: 3,
  reason: null,
  usage,
  startedAt,
  finishedAt,
  lastSeq: 45,
} satisfies Example<'TaskExited'>;
export const taskFailedToStart = {
  type: 'task.exited',
  taskId: otherTaskId,
  stopCode: 'FAILED_TO_START',
  exitCode: null,
  reason: 'image not found: ghcr.io/acme/web:9.9.9',
  usage: unmeasuredUsage,
  startedAt: null,
  finishedAt,
  lastSeq: 0,
} satisfies Example<'TaskExited'>;

export const welcome = {
  type: 'welcome',
  protocolVersion: 1,
  agentName: 'host-a',
  heartbeatIntervalMs: 10_000,
  acks: [{ taskId, seq: 40 }],
  drop: [otherTaskId],
} satisfies Example<'Welcome'>;
export const clockReading = { receivedAt: startedAt, sentAt: startedAt } satisfies Example<'ClockReading'>;
export const stopWhenCutOff = { afterSeconds: 300, stopGraceSeconds: 10 } satisfies Example<'StopWhenCutOff'>;
export const clockWelcome = { ...welcome, clock: clockReading, stopWhenCutOff } satisfies Example<'Welcome'>;
export const heartbeatAck = { type: 'heartbeat.ack', at: startedAt, clock: { receivedAt: createdAt, sentAt: finishedAt } } satisfies Example<'HeartbeatAck'>;
export const taskAssign = { type: 'task.assign', task: taskSpec } satisfies Example<'TaskAssign'>;
export const taskStop = { type: 'task.stop', taskId, stopCode: 'USER_STOPPED', reason: 'stopped by token admin', graceSeconds: 10 } satisfies Example<'TaskStop'>;
export const taskLogAck = { type: 'task.log.ack', taskId, seq: 45 } satisfies Example<'TaskLogAck'>;
export const refused = {
  type: 'refused',
  code: 'UNSUPPORTED_PROTOCOL_VERSION',
  message: 'protocol version 2 is not supported; this scheduler speaks 1',
} satisfies Example<'Refused'>;

export const consoleOpen = {
  type: 'console.open',
  sessionId: '9c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f',
  taskId,
  mode: 'attach',
  command: null,
  tty: true,
  size: { cols: 120, rows: 40 },
  openedBy: 'ci',
} satisfies Example<'ConsoleOpen'>;
export const consoleExec = { ...consoleOpen, mode: 'exec', command: ['rails', 'console'], tty: false } satisfies Example<'ConsoleOpen'>;

export const consoleSession = {
  id: consoleOpen.sessionId,
  taskId,
  mode: 'attach',
  command: null,
  tty: true,
  openedBy: 'ci',
  openedAt: startedAt,
  closedAt: finishedAt,
  exitCode: 0,
  endReason: 'exited',
  inputRecorded: false,
} satisfies Example<'ConsoleSession'>;

export const taskEnvRequest = { type: 'task.env.request', taskId } satisfies Example<'TaskEnvRequest'>;
export const taskEnv = { type: 'task.env', taskId, env: taskSpec.env, secretKeys: ['DATABASE_URL'] } satisfies Example<'TaskEnv'>;

export const agentFrames = [hello, recoveringHello, heartbeat, notReadyHeartbeat, taskAccepted, taskStatusChanged, taskPending, taskLog, taskLogChunk, taskExited, taskFailedToStart, taskEnvRequest] as const;
export const taskCopy = { type: 'task.copy', copyId: '0a1b2c3d4e5f60718293a4b5c6d7e8f9', taskId, path: '/app/export.csv', maxBytes: 1024 ** 3 } satisfies Example<'TaskCopy'>;
export const taskRemove = { type: 'task.remove', taskId } satisfies Example<'TaskRemove'>;
export const schedulerFrames = [welcome, clockWelcome, heartbeatAck, taskAssign, taskStop, taskLogAck, taskEnv, refused, consoleOpen, consoleExec, taskCopy, taskRemove] as const;

/** Every exported message schema, by export name, with valid values of it. */
const scheduleId = '9c1b7e2a4d6f80135a7c9e1b3d5f7a9c';
const createScheduleRequest = {
  cron: '30 2 * * *',
  timezone: 'Europe/Berlin',
  concurrency: 'forbid',
  missed: 'latest',
  startingDeadlineSeconds: 3600,
  retries: 2,
  webhookUrl: 'https://alerts.example.com/tapit',
  command: 'bin/rails db:cleanup',
  memoryGb: 1,
  initiatedBy: 'ops',
} satisfies Example<'CreateScheduleRequest'>;
const scheduleTaskTemplate = {
  command: ['/bin/sh', '-c', 'bin/rails db:cleanup'],
  entrypoint: null,
  release: null,
  image: null,
  dockerTag: null,
  cpu: null,
  memoryGb: 1,
  maxHours: null,
  ephemeralStorageGb: null,
  initiatedBy: 'ops',
  constraints: {},
} satisfies Example<'ScheduleTaskTemplate'>;
const scheduleRunAttempt = { attempt: 1, taskId, status: 'STOPPED', stopCode: 'EXITED', exitCode: 0 } satisfies Example<'ScheduleRunAttempt'>;
const scheduleRun = {
  scheduledFor: '2021-03-17T01:30:00.000Z',
  trigger: 'cron',
  outcome: 'succeeded',
  reason: null,
  attempts: [scheduleRunAttempt],
  nextAttemptAt: null,
  createdAt,
} satisfies Example<'ScheduleRun'>;
const skippedRun = {
  ...scheduleRun,
  scheduledFor: '2021-03-16T01:30:00.000Z',
  outcome: 'skipped',
  reason: `task ${otherTaskId} was still running (concurrency=forbid)`,
  attempts: [],
} satisfies Example<'ScheduleRun'>;
const schedule = {
  id: scheduleId,
  project: 'shop',
  stage: 'production',
  app: 'web',
  cron: '30 2 * * *',
  timezone: 'Europe/Berlin',
  concurrency: 'forbid',
  missed: 'latest',
  startingDeadlineSeconds: 3600,
  retries: 2,
  task: scheduleTaskTemplate,
  suspended: false,
  failing: false,
  nextRunAt: '2021-03-18T01:30:00.000Z',
  lastRun: scheduleRun,
  webhookUrl: 'https://alerts.example.com/tapit',
  createdBy: 'ops-token',
  createdAt,
} satisfies Example<'Schedule'>;
const failedAttempt = { attempt: 1, taskId, status: 'STOPPED', stopCode: 'EXITED', exitCode: 3 } satisfies Example<'ScheduleRunAttempt'>;
const deliveryId = '5e0c2b8a9d1f4e3b7a6c5d4e3f2a1b0c';
/** What a receiver gets for a run whose last attempt exited 3. */
export const alertBody = {
  event: 'run.failed',
  deliveryId,
  schedule: { id: scheduleId, project: 'shop', stage: 'production', app: 'web', cron: '30 2 * * *', timezone: 'Europe/Berlin' },
  scheduledFor: '2021-03-17T01:30:00.000Z',
  trigger: 'cron',
  outcome: 'failed',
  reason: `task ${taskId} (attempt 1) ended EXITED (exit code 3)`,
  attempts: [failedAttempt],
  hint: `tapit show task task=${taskId}`,
  at: finishedAt,
} satisfies Example<'AlertBody'>;
const skippedAlertBody = {
  ...alertBody,
  event: 'run.skipped',
  outcome: 'skipped',
  reason: 'missed: not fired within 30 s of its time (no scheduler was running, or none could reach the database) (missed=skip)',
  attempts: [],
  hint: `tapit show schedule schedule=${scheduleId}`,
} satisfies Example<'AlertBody'>;
const webhook = { url: 'https://alerts.example.com/tapit', setBy: 'ops-token', setAt: createdAt } satisfies Example<'Webhook'>;
const deliveryAttempt = { attempt: 1, at: finishedAt, statusCode: 500, error: 'the receiver answered 500' } satisfies Example<'DeliveryAttempt'>;
const delivery = {
  id: deliveryId,
  scheduleId,
  event: 'run.failed',
  scheduledFor: alertBody.scheduledFor,
  url: 'https://alerts.example.com/tapit',
  status: 'delivered',
  attempts: 2,
  nextAttemptAt: null,
  lastStatusCode: 200,
  lastError: null,
  lastResponse: 'ok',
  history: [deliveryAttempt, { attempt: 2, at: finishedAt, statusCode: 200, error: null }],
  body: JSON.stringify(alertBody),
  createdAt: finishedAt,
  deliveredAt: finishedAt,
} satisfies Example<'Delivery'>;
const pendingDelivery = {
  ...delivery,
  status: 'pending',
  attempts: 1,
  nextAttemptAt: finishedAt,
  lastStatusCode: null,
  lastError: 'connect ECONNREFUSED 203.0.113.7:443',
  lastResponse: null,
  history: [{ attempt: 1, at: finishedAt, statusCode: null, error: 'connect ECONNREFUSED 203.0.113.7:443' }],
  deliveredAt: null,
} satisfies Example<'Delivery'>;
export const auditEvent = {
  id: 4182,
  time: createdAt,
  actor: 'ci',
  initiatedBy: 'jane@example.com',
  action: 'task.create',
  targetType: 'task',
  targetId: taskId,
  project: 'shop',
  source: '203.0.113.9',
  details: { app: 'web', kind: 'background' },
} satisfies Example<'AuditEvent'>;
/** An event of no project, by the scheduler's admin command: no client, no address. */
export const adminAuditEvent = {
  ...auditEvent,
  id: 7,
  actor: 'tapit-scheduler',
  initiatedBy: null,
  action: 'token.create',
  targetType: 'token',
  targetId: 'recovery',
  project: null,
  source: null,
  details: { role: 'admin', via: 'create-admin-token' },
} satisfies Example<'AuditEvent'>;
const upcomingRun = { local: '2021-03-18T02:30:00+01:00', utc: '2021-03-18T01:30:00.000Z' } satisfies Example<'UpcomingRun'>;

export const examples: { readonly [K in Exclude<SchemaName, QuerySchemaName>]: readonly Example<K>[] } = {
  // common
  TaskId: [taskId, otherTaskId],
  TaskIdPrefix: ['3f2a', taskId],
  Name: ['default', 'web-1', 'a', 'x'.repeat(63)],
  Timestamp: [createdAt, '2021-03-17T10:58:34+01:00', '2021-03-17T09:58:34Z'],
  TaskStatus: ['PROVISIONING', 'PENDING', 'RUNNING', 'STOPPING', 'STOPPED'],
  DesiredStatus: ['RUNNING', 'STOPPED'],
  StopCode: ['EXITED', 'USER_STOPPED', 'TIMED_OUT', 'OOM_KILLED', 'STORAGE_EXCEEDED', 'FAILED_TO_START', 'AGENT_LOST', 'ENGINE_LOST'],
  ExitCode: [0, 137, -1],
  TaskKind: ['background', 'interactive'],
  Cpu: [0.01, 0.25, 64],
  MemoryGb: [0.004, 0.5, 1024],
  MaxHours: [0.0001, 24, 8760],
  EphemeralStorageGb: [0.001, 20, 10240],
  TaskResources: [resources, unlimitedResources],
  Capacity: [capacity, { cpu: 1024, memoryGb: 16384 }, { ...capacity, maxTasks: 16 }],
  LabelKey: ['region', 'gpu', 'example.com/zone', 'a'],
  LabelValue: ['eu', 'true', 'v1.2_b-3', 'A'],
  Labels: [{ region: 'eu', gpu: 'true' }, {}],
  ResourceUsage: [usage, unmeasuredUsage],
  ErrorCode: ['VALIDATION_FAILED', 'UNAUTHORIZED', 'FORBIDDEN', 'NOT_FOUND', 'CONFLICT', 'AMBIGUOUS_ID', 'PAYLOAD_TOO_LARGE', 'IDEMPOTENCY_KEY_REUSED', 'RATE_LIMITED', 'TOO_MANY_STREAMS', 'SERVER_BUSY', 'INTERNAL', 'DATABASE_UNAVAILABLE'],
  ApiErrorBody: [validationError, notFoundError, databaseUnavailableError],
  // api
  Health: [health, { status: 'ok', version: '0.1.0', database: 'embedded' }],
  Liveness: [{ status: 'ok', version: '0.1.0' }],
  ImageRef: ['busybox', 'busybox:1.36', 'ghcr.io/acme/web:1.4.3', `registry.local:5000/shop/web@${digest}`],
  CreateProjectRequest: [createProjectRequest],
  Project: [project],
  ProjectList: [{ items: [project] }, { items: [] }],
  CreateStageRequest: [createStageRequest],
  CreateAppRequest: [createAppRequest, { name: 'worker', image: 'busybox', readOnly: true, logRetentionDays: 30, pullPolicy: 'always' }, { name: 'admin-console', image: 'busybox', recordInput: true }],
  App: [app, { ...app, name: 'worker', defaults: { cpu: 1, memoryGb: 2, maxHours: 12 }, activeRelease: null, constraints: {}, logRetentionDays: 30 }],
  LogRetentionDays: [30, 0.5, 36500],
  UpdateAppRequest: [updateAppRequest, { constraints: {} }, { logRetentionDays: 0.5 }, { logRetentionDays: null }, { pullPolicy: 'never' }],
  PullPolicy: ['always', 'missing', 'never'],
  RegistryHost: ['ghcr.io', '127.0.0.1:5000', 'docker.io'],
  SetRegistryRequest: [{ username: 'acme-ci', password: 'ghp_example' }],
  Registry: [registry],
  RegistryList: [{ items: [registry] }, { items: [] }],
  AppList: [{ items: [app] }],
  CreateReleaseRequest: [createReleaseRequest],
  Release: [release, { ...release, number: 2, active: false }],
  ReleaseList: [{ items: [release] }],
  DockerTag: ['latest', '1.4.3', '_build-7.x'],
  TaskText: ['bin/rails db:migrate', 'echo "héllo ✓ 😀"'],
  CreateTaskRequest: [createShellTask, createExecTask, createImageTask, { ...createShellTask, env: { RAILS_ENV: 'staging', API_TOKEN: 'a-token' } }, createTaskWithFiles],
  TaskFile: [taskFile],
  ContainerPath: ['/app/fix.rb', '/data/a file with spaces.csv'],
  Task: [task, provisioningTask, { ...task, scheduleId, scheduledFor: '2021-03-17T01:30:00.000Z' }, { ...task, envKeys: ['API_TOKEN'] }],
  TaskLogSize: [
    { lines: 1200, bytes: 3_145_728, droppedLines: 0, droppedBytes: 0, expiredAt: null },
    { lines: 40, bytes: 1_073_741_824, droppedLines: 9, droppedBytes: 4096, expiredAt: finishedAt },
  ],
  TaskList: [taskList, { items: [], nextCursor: null }],
  ScheduleId: [scheduleId],
  ConcurrencyPolicy: ['allow', 'forbid', 'replace'],
  MissedRunPolicy: ['skip', 'latest'],
  CronExpression: ['30 2 * * *', '*/5 * * * * *', '@hourly'],
  TimeZoneName: ['UTC', 'Europe/Berlin', 'America/New_York'],
  CreateScheduleRequest: [createScheduleRequest, { cron: '@daily', args: ['bin/cleanup', '--all'] }],
  ScheduleRunOutcome: ['running', 'retrying', 'succeeded', 'stopped', 'failed', 'skipped'],
  ScheduleRunTrigger: ['cron', 'manual'],
  ScheduleRunAttempt: [scheduleRunAttempt, { attempt: 2, taskId: otherTaskId, status: 'RUNNING', stopCode: null, exitCode: null }],
  ScheduleRun: [scheduleRun, skippedRun, { ...scheduleRun, trigger: 'manual', outcome: 'retrying', nextAttemptAt: finishedAt }],
  ScheduleTaskTemplate: [scheduleTaskTemplate],
  Schedule: [schedule, { ...schedule, suspended: true, failing: true, nextRunAt: null, lastRun: null, webhookUrl: null, startingDeadlineSeconds: null }],
  CreatedSchedule: [{ ...schedule, webhookSecret: 'whsec_4f1c0a9e8b7d6c5b4a39281706f5e4d3' }, { ...schedule, webhookUrl: null, webhookSecret: null }],
  UpcomingRun: [upcomingRun],
  ScheduleDetail: [{ ...schedule, upcoming: [upcomingRun], runs: [scheduleRun, skippedRun] }],
  ScheduleList: [{ items: [schedule], nextCursor: null }, { items: [], nextCursor: 'OWMxYjdl' }],
  TriggeredRun: [{ scheduleId, scheduledFor: startedAt, taskId }],
  WebhookUrl: ['https://alerts.example.com/tapit', 'http://127.0.0.1:9000/hook?token=abc'],
  AlertEvent: ['run.failed', 'run.skipped', 'run.recovered'],
  AlertBody: [alertBody, skippedAlertBody, { ...alertBody, event: 'run.recovered', outcome: 'succeeded', reason: null, attempts: [scheduleRunAttempt] }],
  SetWebhookRequest: [{ url: 'https://alerts.example.com/tapit' }],
  Webhook: [webhook],
  CreatedWebhook: [{ ...webhook, secret: 'whsec_4f1c0a9e8b7d6c5b4a39281706f5e4d34f1c0a9e8b7d6c5b4a39281706f5e4d3' }],
  DeliveryStatus: ['pending', 'delivered', 'failed'],
  DeliveryAttempt: [deliveryAttempt, { attempt: 3, at: finishedAt, statusCode: null, error: 'no answer within 10 s' }],
  Delivery: [delivery, pendingDelivery, { ...pendingDelivery, status: 'failed', nextAttemptAt: null }],
  DeliveryList: [{ items: [delivery, pendingDelivery], nextCursor: null }, { items: [], nextCursor: 'NWUwYzJiOGE' }],
  AuditAction: ['task.create', 'console.exec.end', 'join-token.revoke', 'registry.set'],
  AuditEvent: [auditEvent, adminAuditEvent],
  AuditEventList: [{ items: [auditEvent, adminAuditEvent], nextCursor: 'NDE4Mg' }, { items: [], nextCursor: null }],
  LogStream: ['stdout', 'stderr', 'system'],
  LogLine: [stdoutLine, systemLine],
  LogPage: [logPage, { lines: [], last: 0, complete: false }, { lines: [], last: 0, complete: true, expiredAt: createdAt }],
  LogRun: [stdoutRun, systemRun],
  LogChunk: [logChunk],
  LogChunkPage: [logChunkPage, { chunks: [], last: 0, more: false, complete: false }, { chunks: [], last: 0, more: false, complete: true, expiredAt: createdAt }],
  LogFollowEvent: [
    { type: 'line', line: stdoutLine },
    { type: 'chunk', chunk: logChunk },
    { type: 'status', status: 'STOPPING' },
    { type: 'end', status: 'STOPPED', exitCode: 0 },
    { type: 'end', status: 'STOPPED', exitCode: null },
    { type: 'end', status: 'STOPPED', exitCode: 0, logExpiredAt: createdAt },
  ],
  AgentStatus: ['online', 'offline', 'revoked'],
  AgentView: [agentView, offlineAgentView, notReadyAgentView, projectAgentView],
  AgentList: [{ items: [agentView, offlineAgentView, notReadyAgentView] }, { items: [projectAgentView] }],
  UpdateAgentRequest: [updateAgentRequest, { drained: false }, { cpu: null }],
  CreateJoinTokenRequest: [createJoinTokenRequest, {}, { uses: null }],
  JoinTokenView: [joinTokenView, { ...joinTokenView, uses: null, createdBy: null, revokedAt: finishedAt }],
  CreatedJoinToken: [createdJoinToken],
  JoinTokenList: [{ items: [joinTokenView] }, { items: [] }],
  Role: ['admin', 'member', 'viewer'],
  CreateTokenRequest: [createTokenRequest, { name: 'root', role: 'admin' }],
  TokenView: [tokenView, adminTokenView],
  CreatedToken: [createdToken],
  TokenList: [{ items: [tokenView, adminTokenView] }],
  WhoAmI: [whoAmI, { name: 'bootstrap', role: 'admin', project: null }],
  IdempotencyKey: ['0b1e6c9e-3d7a-4c55-9a51-2f1d6c0e8b47', '01HV3K8Z9Q2W4E6R8T0Y2U4I6O', 'x'.repeat(255)],
  // agent
  TaskSpec: [taskSpec, interactiveTaskSpec],
  // env
  EnvKey: ['DATABASE_URL', '_PRIVATE', 'a1'],
  EnvValue: ['postgres://db/shop', '', 'line one\nline two'],
  TaskEnvOverrides: [{ RAILS_ENV: 'staging' }, {}],
  UpdateEnvRequest: [{ vars: { DATABASE_URL: 'postgres://db/shop' }, secret: true }, { vars: { OLD: null, RAILS_ENV: 'production' } }],
  EnvVar: [envVar, secretEnvVar],
  EnvVarList: [{ items: [envVar, secretEnvVar] }, { items: [] }],
  HeldTask: hello.tasks,
  AgentReadiness: [notReady, { ready: true, reason: null }],
  Hello: [hello, { ...hello, tasks: [], heartbeatAcks: true }, recoveringHello, joiningHello],
  AgentCredential: [joiningHello.credential],
  Heartbeat: [heartbeat, notReadyHeartbeat, { ...heartbeat, readiness: { ready: true, reason: null } }],
  TaskAccepted: [taskAccepted],
  TaskStatusChanged: [taskStatusChanged, taskPending],
  LogEntry: taskLog.lines,
  TaskLog: [taskLog],
  TaskLogChunk: [taskLogChunk],
  TaskExited: [taskExited, taskFailedToStart],
  AgentFrame: agentFrames,
  Welcome: [welcome, { ...welcome, acks: [], drop: [] }, clockWelcome, { ...clockWelcome, logChunks: true, taskEnv: true }],
  TaskEnvRequest: [taskEnvRequest],
  TaskEnv: [taskEnv, { ...taskEnv, env: {}, secretKeys: [] }, { ...taskEnv, pullAuth }],
  ClockReading: [clockReading],
  StopWhenCutOff: [stopWhenCutOff, { afterSeconds: 2, stopGraceSeconds: 0 }],
  HeartbeatAck: [heartbeatAck],
  TaskAssign: [taskAssign, { type: 'task.assign', task: interactiveTaskSpec }, { type: 'task.assign', task: { ...taskSpec, pullPolicy: 'always' }, pullAuth }],
  PullAuth: [pullAuth],
  TaskStop: [taskStop, { ...taskStop, stopCode: 'TIMED_OUT', reason: 'max_hours 1.5 reached', graceSeconds: 0 }],
  TaskLogAck: [taskLogAck, { ...taskLogAck, seq: 0 }],
  Refused: [refused],
  SchedulerFrame: schedulerFrames,
  ConsoleSession: [consoleSession, { ...consoleSession, mode: 'exec', command: ['ls', '-l'], tty: false, closedAt: null, exitCode: null, endReason: null }],
  ConsoleSessionList: [{ items: [consoleSession] }, { items: [] }],
  // pty
  TerminalSize: [{ cols: 80, rows: 24 }],
  ConsoleClientId: ['5b2f0c9e8d7a6b5c4d3e2f1a0b9c8d7e'],
  ConsoleClientFrame: [{ type: 'resize', cols: 132, rows: 43 }, { type: 'detach' }, { type: 'stdin.close' }],
  ConsoleServerFrame: [
    { type: 'attached', sessionId: consoleOpen.sessionId, replayed: 2048, offset: 10_240 },
    { type: 'attached', sessionId: consoleOpen.sessionId, replayed: 2048, offset: 10_240, inputReceived: 311 },
    { type: 'exited', exitCode: 130 },
    { type: 'exited', exitCode: null },
    { type: 'error', message: 'task 3f2a9c0d is not running' },
  ],
  ConsoleOpen: [consoleOpen, consoleExec, { ...consoleOpen, client: '5b2f0c9e8d7a6b5c4d3e2f1a0b9c8d7e' }],
  TaskCopy: [taskCopy],
  TaskRemove: [taskRemove],
  CopyFileRequest: [{ path: '/app/export.csv' }],
  CopyErrorCode: ['NOT_FOUND', 'IS_DIRECTORY', 'NOT_A_FILE', 'TOO_LARGE', 'CONTAINER_GONE', 'FAILED'],
  CopyHead: [{ type: 'copy.file', size: 1234, mode: 0o644 }, { type: 'copy.error', code: 'NOT_FOUND', message: 'no such file in the container: /app/export.csv' }],
};
