import * as P from '@tapit/protocol';
import { z } from 'zod';

export interface Operation {
  /** The operationId: a generated client's function or type name, so never renamed lightly. */
  id: string;
  tag: Tag;
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  summary: string;
  body?: z.ZodType;
  response?: z.ZodType;
  status?: number;
  noAuth?: boolean;
  /** The query string's schema (a strict object of optional fields). */
  query?: z.ZodObject;
  /** An answer that is not one JSON value: NDJSON lines of `response`, or bytes. */
  media?: 'application/x-ndjson' | 'application/octet-stream' | 'application/x-asciicast';
}

/** The groups the operations are listed in, as a reader of the API meets them. */
const TAGS = {
  health: 'Readiness, liveness and this description: no token needed for the probes',
  projects: 'Projects and their stages',
  apps: "Apps, their releases and env vars",
  tasks: 'One-off tasks: create, list, show, stop, delete, copy a file out',
  logs: "A task's log, as pages or followed live",
  consoles: "A task's console and exec sessions and their recordings",
  schedules: 'Cron schedules that create tasks',
  webhooks: "Where a schedule's or an app's alerts go, and their deliveries",
  agents: 'Agents and the join tokens they register with',
  tokens: 'API tokens',
  registries: "A project's private registry credentials",
  audit: 'The audit trail',
} as const;
type Tag = keyof typeof TAGS;

/** Path parameters by name, described with the schemas their routes check them with. */
const PATH_PARAMETERS: Record<string, z.ZodType> = {
  project: P.Name,
  stage: P.Name,
  app: P.Name,
  name: P.Name,
  id: P.TaskIdPrefix,
  session: z.string().regex(/^[0-9a-f]{32}$/),
  host: P.RegistryHost,
};

/**
 * The API's operations, with the same zod schemas the handlers parse with: every route the app
 * serves (audit/every-change-audited.test.ts checks both ways, and that each change is audited).
 */
export const OPERATIONS: Operation[] = [
  { id: 'getHealth', tag: 'health', method: 'get', path: '/healthz', summary: 'Ready once the database is', response: P.Health, noAuth: true },
  { id: 'getLiveness', tag: 'health', method: 'get', path: '/livez', summary: 'Live while the process serves, whatever its database does', response: P.Liveness, noAuth: true },
  { id: 'getOpenApi', tag: 'health', method: 'get', path: '/v1/openapi.json', summary: 'This description of the API', response: z.record(z.string(), z.unknown()) },
  { id: 'whoAmI', tag: 'tokens', method: 'get', path: '/v1/whoami', summary: 'The calling token', response: P.WhoAmI },
  { id: 'listProjects', tag: 'projects', method: 'get', path: '/v1/projects', summary: 'List projects', response: P.ProjectList },
  { id: 'createProject', tag: 'projects', method: 'post', path: '/v1/projects', summary: 'Create a project', body: P.CreateProjectRequest, response: P.Project, status: 201 },
  { id: 'createStage', tag: 'projects', method: 'post', path: '/v1/projects/{project}/stages', summary: 'Create a stage', body: P.CreateStageRequest, response: P.Project, status: 201 },
  { id: 'listApps', tag: 'apps', method: 'get', path: '/v1/projects/{project}/stages/{stage}/apps', summary: 'List apps', response: P.AppList },
  { id: 'createApp', tag: 'apps', method: 'post', path: '/v1/projects/{project}/stages/{stage}/apps', summary: 'Create an app', body: P.CreateAppRequest, response: P.App, status: 201 },
  { id: 'getApp', tag: 'apps', method: 'get', path: '/v1/projects/{project}/stages/{stage}/apps/{app}', summary: 'Show an app', response: P.App },
  { id: 'updateApp', tag: 'apps', method: 'patch', path: '/v1/projects/{project}/stages/{stage}/apps/{app}', summary: "Change an app's constraints", body: P.UpdateAppRequest, response: P.App },
  { id: 'listReleases', tag: 'apps', method: 'get', path: '/v1/projects/{project}/stages/{stage}/apps/{app}/releases', summary: 'List releases', response: P.ReleaseList },
  { id: 'listEnv', tag: 'apps', method: 'get', path: '/v1/projects/{project}/stages/{stage}/apps/{app}/env', summary: "List an app's env vars (a secret's value is never shown)", response: P.EnvVarList },
  { id: 'updateEnv', tag: 'apps', method: 'patch', path: '/v1/projects/{project}/stages/{stage}/apps/{app}/env', summary: "Set (a value) or unset (null) an app's env vars; secret: sealed, never shown back", body: P.UpdateEnvRequest, response: P.EnvVarList },
  { id: 'createRelease', tag: 'apps', method: 'post', path: '/v1/projects/{project}/stages/{stage}/apps/{app}/releases', summary: 'Create the active release', body: P.CreateReleaseRequest, response: P.Release, status: 201 },
  { id: 'createTask', tag: 'tasks', method: 'post', path: '/v1/projects/{project}/stages/{stage}/apps/{app}/tasks', summary: 'Create a task', body: P.CreateTaskRequest, response: P.Task, status: 201 },
  { id: 'listTasks', tag: 'tasks', method: 'get', path: '/v1/tasks', summary: 'List tasks, newest first', query: P.ListTasksQuery, response: P.TaskList },
  { id: 'getTask', tag: 'tasks', method: 'get', path: '/v1/tasks/{id}', summary: 'Show a task (id or unique prefix)', response: P.Task },
  { id: 'stopTask', tag: 'tasks', method: 'post', path: '/v1/tasks/{id}/stop', summary: 'Stop a task', response: P.Task, status: 202 },
  { id: 'deleteTask', tag: 'tasks', method: 'delete', path: '/v1/tasks/{id}', summary: 'Delete a stopped task', status: 204 },
  { id: 'getTaskLog', tag: 'logs', method: 'get', path: '/v1/tasks/{id}/logs', summary: 'A page of a task log', query: P.LogQuery, response: P.LogPage },
  { id: 'followTaskLog', tag: 'logs', method: 'get', path: '/v1/tasks/{id}/logs/follow', summary: 'Follow a task log (NDJSON of LogFollowEvent)', query: P.LogFollowQuery, response: P.LogFollowEvent, media: 'application/x-ndjson' },
  { id: 'getTaskLogChunks', tag: 'logs', method: 'get', path: '/v1/tasks/{id}/logs/chunks', summary: 'A page of a task log as stored chunks', query: P.LogChunkQuery, response: P.LogChunkPage },
  { id: 'followTaskLogChunks', tag: 'logs', method: 'get', path: '/v1/tasks/{id}/logs/chunks/follow', summary: 'Follow a task log as chunks (NDJSON of LogFollowEvent: chunk, status, end)', query: P.LogChunkFollowQuery, response: P.LogFollowEvent, media: 'application/x-ndjson' },
  { id: 'copyTaskFile', tag: 'tasks', method: 'post', path: '/v1/tasks/{id}/copy', summary: "Copy one file out of a task's container (running, or stopped and kept): its bytes, application/octet-stream; audited as task.copy", body: P.CopyFileRequest, media: 'application/octet-stream' },
  { id: 'listTaskConsoles', tag: 'consoles', method: 'get', path: '/v1/tasks/{id}/consoles', summary: 'Console and exec sessions of a task', response: P.ConsoleSessionList },
  { id: 'getConsoleRecording', tag: 'consoles', method: 'get', path: '/v1/consoles/{session}/recording', summary: 'A session recording (asciicast v2, application/x-asciicast)', media: 'application/x-asciicast' },
  { id: 'createSchedule', tag: 'schedules', method: 'post', path: '/v1/projects/{project}/stages/{stage}/apps/{app}/schedules', summary: 'Create a schedule (a cron expression in a time zone)', body: P.CreateScheduleRequest, response: P.CreatedSchedule, status: 201 },
  { id: 'listSchedules', tag: 'schedules', method: 'get', path: '/v1/schedules', summary: 'List schedules, newest first', query: P.ListSchedulesQuery, response: P.ScheduleList },
  { id: 'getSchedule', tag: 'schedules', method: 'get', path: '/v1/schedules/{id}', summary: 'Show a schedule (id or unique prefix): next runs and recent history', response: P.ScheduleDetail },
  { id: 'deleteSchedule', tag: 'schedules', method: 'delete', path: '/v1/schedules/{id}', summary: 'Delete a schedule (its tasks stay; running ones are not stopped)', status: 204 },
  { id: 'suspendSchedule', tag: 'schedules', method: 'post', path: '/v1/schedules/{id}/suspend', summary: 'Suspend a schedule: no slot fires', response: P.Schedule },
  { id: 'resumeSchedule', tag: 'schedules', method: 'post', path: '/v1/schedules/{id}/resume', summary: 'Resume a schedule at its next slot after now', response: P.Schedule },
  { id: 'triggerSchedule', tag: 'schedules', method: 'post', path: '/v1/schedules/{id}/trigger', summary: 'Run a schedule now, whatever its concurrency policy', response: P.TriggeredRun, status: 201 },
  { id: 'listAgents', tag: 'agents', method: 'get', path: '/v1/agents', summary: 'List agents (a project token: those running its tasks)', response: P.AgentList },
  { id: 'updateAgent', tag: 'agents', method: 'patch', path: '/v1/agents/{name}', summary: "Set an agent's capacity or drain it", body: P.UpdateAgentRequest, response: P.AgentView },
  { id: 'revokeAgent', tag: 'agents', method: 'post', path: '/v1/agents/{name}/revoke', summary: "Revoke an agent's credential and disconnect it", status: 204 },
  { id: 'deleteAgent', tag: 'agents', method: 'delete', path: '/v1/agents/{name}', summary: 'Delete an agent that is not connected', status: 204 },
  { id: 'listJoinTokens', tag: 'agents', method: 'get', path: '/v1/join-tokens', summary: 'List join tokens', response: P.JoinTokenList },
  { id: 'createJoinToken', tag: 'agents', method: 'post', path: '/v1/join-tokens', summary: 'Create a join token', body: P.CreateJoinTokenRequest, response: P.CreatedJoinToken, status: 201 },
  { id: 'revokeJoinToken', tag: 'agents', method: 'delete', path: '/v1/join-tokens/{name}', summary: 'Revoke a join token', status: 204 },
  { id: 'listScheduleDeliveries', tag: 'webhooks', method: 'get', path: '/v1/schedules/{id}/deliveries', summary: "A schedule's alert deliveries, newest first", query: P.ListDeliveriesQuery, response: P.DeliveryList },
  { id: 'getScheduleWebhook', tag: 'webhooks', method: 'get', path: '/v1/schedules/{id}/webhook', summary: "A schedule's own webhook (never its secret)", response: P.Webhook },
  { id: 'setScheduleWebhook', tag: 'webhooks', method: 'put', path: '/v1/schedules/{id}/webhook', summary: "Set or replace a schedule's webhook: a new secret, shown only here", body: P.SetWebhookRequest, response: P.CreatedWebhook },
  { id: 'deleteScheduleWebhook', tag: 'webhooks', method: 'delete', path: '/v1/schedules/{id}/webhook', summary: "Remove a schedule's webhook (its app's then applies)", status: 204 },
  { id: 'getAppWebhook', tag: 'webhooks', method: 'get', path: '/v1/projects/{project}/stages/{stage}/apps/{app}/webhook', summary: "An app's default webhook (never its secret)", response: P.Webhook },
  { id: 'setAppWebhook', tag: 'webhooks', method: 'put', path: '/v1/projects/{project}/stages/{stage}/apps/{app}/webhook', summary: "Set or replace an app's default webhook: a new secret, shown only here", body: P.SetWebhookRequest, response: P.CreatedWebhook },
  { id: 'deleteAppWebhook', tag: 'webhooks', method: 'delete', path: '/v1/projects/{project}/stages/{stage}/apps/{app}/webhook', summary: "Remove an app's default webhook", status: 204 },
  { id: 'listTokens', tag: 'tokens', method: 'get', path: '/v1/tokens', summary: 'List tokens', response: P.TokenList },
  { id: 'createToken', tag: 'tokens', method: 'post', path: '/v1/tokens', summary: 'Create a token', body: P.CreateTokenRequest, response: P.CreatedToken, status: 201 },
  { id: 'revokeToken', tag: 'tokens', method: 'delete', path: '/v1/tokens/{name}', summary: 'Revoke a token', status: 204 },
  { id: 'listRegistries', tag: 'registries', method: 'get', path: '/v1/projects/{project}/registries', summary: "A project's private registries: host, username, who set them (never the password)", response: P.RegistryList },
  { id: 'setRegistry', tag: 'registries', method: 'put', path: '/v1/projects/{project}/registries/{host}', summary: "Set or replace the project's credentials for a registry; its tasks' images from that host are pulled with them", body: P.SetRegistryRequest, response: P.Registry },
  { id: 'deleteRegistry', tag: 'registries', method: 'delete', path: '/v1/projects/{project}/registries/{host}', summary: "Remove the project's credentials for a registry", status: 204 },
  { id: 'listAuditEvents', tag: 'audit', method: 'get', path: '/v1/audit', summary: 'The audit trail, newest first: the events this token may read (docs/security.md)', query: P.ListAuditQuery, response: P.AuditEventList },
];

const schema = (s: z.ZodType, io: 'input' | 'output') => z.toJSONSchema(s, { io, unrepresentable: 'any', target: 'draft-2020-12' });

/** Every create takes one (docs/api.md, "Retrying a create"). */
const idempotencyKeyParameter = {
  name: P.IDEMPOTENCY_KEY_HEADER,
  in: 'header',
  required: false,
  description: 'Repeat a create safely: the same key and body within 24 hours answer the first result (200) instead of creating again.',
  schema: schema(P.IdempotencyKey, 'input'),
};

/** Every error answer's body, described once and referenced by each operation. */
const ERROR_BODY = { $ref: '#/components/schemas/ApiErrorBody' };
const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: ERROR_BODY } } });

/** What one operation answers when it succeeds. */
function successResponse(op: Operation): Record<string, unknown> {
  if (op.status === 204 || (!op.response && !op.media)) return { description: 'No content' };
  if (op.media === 'application/x-ndjson') return { description: `One JSON value a line, as the events happen`, content: { [op.media]: { schema: schema(op.response!, 'output') } } };
  if (op.media) return { description: 'OK', content: { [op.media]: { schema: { type: 'string' } } } };
  return { description: 'OK', content: { 'application/json': { schema: schema(op.response!, 'output') } } };
}

/** OpenAPI 3.1 generated from the protocol's zod schemas; `redocly lint` passes it (test/openapi). */
export function buildOpenApi(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) {
    const creates = op.method === 'post' && op.status === 201;
    const inPath = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: schema(PATH_PARAMETERS[m[1]!]!, 'input') }));
    // Query values travel as text: numbers are described as numbers, sent as their digits.
    const inQuery = Object.entries(op.query?.shape ?? {}).map(([name, field]) => ({ name, in: 'query', required: false, schema: schema(field as z.ZodType, 'input') }));
    const parameters: Record<string, unknown>[] = [...inPath, ...inQuery];
    if (creates) parameters.push(idempotencyKeyParameter);
    const success = successResponse(op);
    paths[op.path] ??= {};
    paths[op.path][op.method] = {
      operationId: op.id,
      tags: [op.tag],
      summary: op.summary,
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(op.noAuth ? { security: [] } : {}),
      ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: schema(op.body, 'input') } } } } : {}),
      responses: {
        [String(op.status ?? 200)]: success,
        ...(creates ? { '200': { ...success, description: `Replayed: an earlier request with this ${P.IDEMPOTENCY_KEY_HEADER} created it` } } : {}),
        '4XX': errorResponse('Refused: bad input (400, naming the field), no or a bad token (401), a role or project that does not allow it (403), not found (404), a conflict (409), too large (413), too many requests or streams (429, with Retry-After)'),
        '5XX': errorResponse('Not served now: an internal error (500, never with a stack trace), too busy or the database unreachable (503, with Retry-After): send it again later'),
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'tapit scheduler',
      version,
      description: "tapit's HTTP API: projects, apps, one-off tasks, their logs, consoles, schedules, agents and tokens. Every body is described by a zod schema in @tapit/protocol; docs/api.md says what each route does.",
      license: { name: 'MIT', identifier: 'MIT' },
    },
    // A scheduler listens where TAPIT_HOST and TAPIT_PORT say; clients pass their own base URL.
    servers: [
      {
        url: 'http://{host}:{port}',
        description: "A scheduler, by default on the loopback address (TAPIT_HOST, TAPIT_PORT); behind TLS use your proxy's https URL",
        variables: { host: { default: '127.0.0.1' }, port: { default: '7700' } },
      },
    ],
    tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API token (tapit create token), as Authorization: Bearer TOKEN' } },
      schemas: { ApiErrorBody: schema(P.ApiErrorBody, 'output') },
    },
    security: [{ bearer: [] }],
    paths,
  };
}
