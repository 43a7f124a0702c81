import * as P from '@tapit/protocol';
import { z } from 'zod';

export interface Operation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  summary: string;
  body?: z.ZodType;
  response?: z.ZodType;
  status?: number;
  noAuth?: boolean;
  /** The query string's schema (a strict object of optional fields). */
  query?: z.ZodObject;
}

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
  { method: 'get', path: '/healthz', summary: 'Ready once the database is', response: P.Health, noAuth: true },
  { method: 'get', path: '/livez', summary: 'Live while the process serves, whatever its database does', response: P.Liveness, noAuth: true },
  { method: 'get', path: '/v1/openapi.json', summary: 'This description of the API' },
  { method: 'get', path: '/v1/whoami', summary: 'The calling token', response: P.WhoAmI },
  { method: 'get', path: '/v1/projects', summary: 'List projects', response: P.ProjectList },
  { method: 'post', path: '/v1/projects', summary: 'Create a project', body: P.CreateProjectRequest, response: P.Project, status: 201 },
  { method: 'post', path: '/v1/projects/{project}/stages', summary: 'Create a stage', body: P.CreateStageRequest, response: P.Project, status: 201 },
  { method: 'get', path: '/v1/projects/{project}/stages/{stage}/apps', summary: 'List apps', response: P.AppList },
  { method: 'post', path: '/v1/projects/{project}/stages/{stage}/apps', summary: 'Create an app', body: P.CreateAppRequest, response: P.App, status: 201 },
  { method: 'get', path: '/v1/projects/{project}/stages/{stage}/apps/{app}', summary: 'Show an app', response: P.App },
  { method: 'patch', path: '/v1/projects/{project}/stages/{stage}/apps/{app}', summary: "Change an app's constraints", body: P.UpdateAppRequest, response: P.App },
  { method: 'get', path: '/v1/projects/{project}/stages/{stage}/apps/{app}/releases', summary: 'List releases', response: P.ReleaseList },
  { method: 'get', path: '/v1/projects/{project}/stages/{stage}/apps/{app}/env', summary: "List an app's env vars (a secret's value is never shown)", response: P.EnvVarList },
  { method: 'patch', path: '/v1/projects/{project}/stages/{stage}/apps/{app}/env', summary: "Set (a value) or unset (null) an app's env vars; secret: sealed, never shown back", body: P.UpdateEnvRequest, response: P.EnvVarList },
  { method: 'post', path: '/v1/projects/{project}/stages/{stage}/apps/{app}/releases', summary: 'Create the active release', body: P.CreateReleaseRequest, response: P.Release, status: 201 },
  { method: 'post', path: '/v1/projects/{project}/stages/{stage}/apps/{app}/tasks', summary: 'Create a task', body: P.CreateTaskRequest, response: P.Task, status: 201 },
  { method: 'get', path: '/v1/tasks', summary: 'List tasks, newest first', query: P.ListTasksQuery, response: P.TaskList },
  { method: 'get', path: '/v1/tasks/{id}', summary: 'Show a task (id or unique prefix)', response: P.Task },
  { method: 'post', path: '/v1/tasks/{id}/stop', summary: 'Stop a task', response: P.Task, status: 202 },
  { method: 'delete', path: '/v1/tasks/{id}', summary: 'Delete a stopped task', status: 204 },
  { method: 'get', path: '/v1/tasks/{id}/logs', summary: 'A page of a task log', query: P.LogQuery, response: P.LogPage },
  { method: 'get', path: '/v1/tasks/{id}/logs/follow', summary: 'Follow a task log (NDJSON of LogFollowEvent)', query: P.LogFollowQuery, response: P.LogFollowEvent },
  { method: 'get', path: '/v1/tasks/{id}/logs/chunks', summary: 'A page of a task log as stored chunks', query: P.LogChunkQuery, response: P.LogChunkPage },
  { method: 'get', path: '/v1/tasks/{id}/logs/chunks/follow', summary: 'Follow a task log as chunks (NDJSON of LogFollowEvent: chunk, status, end)', query: P.LogChunkFollowQuery, response: P.LogFollowEvent },
  { method: 'post', path: '/v1/tasks/{id}/copy', summary: "Copy one file out of a task's container (running, or stopped and kept): its bytes, application/octet-stream; audited as task.copy", body: P.CopyFileRequest },
  { method: 'get', path: '/v1/tasks/{id}/consoles', summary: 'Console and exec sessions of a task', response: P.ConsoleSessionList },
  { method: 'get', path: '/v1/consoles/{session}/recording', summary: 'A session recording (asciicast v2, application/x-asciicast)' },
  { method: 'post', path: '/v1/projects/{project}/stages/{stage}/apps/{app}/schedules', summary: 'Create a schedule (a cron expression in a time zone)', body: P.CreateScheduleRequest, response: P.CreatedSchedule, status: 201 },
  { method: 'get', path: '/v1/schedules', summary: 'List schedules, newest first', query: P.ListSchedulesQuery, response: P.ScheduleList },
  { method: 'get', path: '/v1/schedules/{id}', summary: 'Show a schedule (id or unique prefix): next runs and recent history', response: P.ScheduleDetail },
  { method: 'delete', path: '/v1/schedules/{id}', summary: 'Delete a schedule (its tasks stay; running ones are not stopped)', status: 204 },
  { method: 'post', path: '/v1/schedules/{id}/suspend', summary: 'Suspend a schedule: no slot fires', response: P.Schedule },
  { method: 'post', path: '/v1/schedules/{id}/resume', summary: 'Resume a schedule at its next slot after now', response: P.Schedule },
  { method: 'post', path: '/v1/schedules/{id}/trigger', summary: 'Run a schedule now, whatever its concurrency policy', response: P.TriggeredRun, status: 201 },
  { method: 'get', path: '/v1/agents', summary: 'List agents (a project token: those running its tasks)', response: P.AgentList },
  { method: 'patch', path: '/v1/agents/{name}', summary: "Set an agent's capacity or drain it", body: P.UpdateAgentRequest, response: P.AgentView },
  { method: 'post', path: '/v1/agents/{name}/revoke', summary: "Revoke an agent's credential and disconnect it", status: 204 },
  { method: 'delete', path: '/v1/agents/{name}', summary: 'Delete an agent that is not connected', status: 204 },
  { method: 'get', path: '/v1/join-tokens', summary: 'List join tokens', response: P.JoinTokenList },
  { method: 'post', path: '/v1/join-tokens', summary: 'Create a join token', body: P.CreateJoinTokenRequest, response: P.CreatedJoinToken, status: 201 },
  { method: 'delete', path: '/v1/join-tokens/{name}', summary: 'Revoke a join token', status: 204 },
  { method: 'get', path: '/v1/schedules/{id}/deliveries', summary: "A schedule's alert deliveries, newest first", query: P.ListDeliveriesQuery, response: P.DeliveryList },
  { method: 'get', path: '/v1/schedules/{id}/webhook', summary: "A schedule's own webhook (never its secret)", response: P.Webhook },
  { method: 'put', path: '/v1/schedules/{id}/webhook', summary: "Set or replace a schedule's webhook: a new secret, shown only here", body: P.SetWebhookRequest, response: P.CreatedWebhook },
  { method: 'delete', path: '/v1/schedules/{id}/webhook', summary: "Remove a schedule's webhook (its app's then applies)", status: 204 },
  { method: 'get', path: '/v1/projects/{project}/stages/{stage}/apps/{app}/webhook', summary: "An app's default webhook (never its secret)", response: P.Webhook },
  { method: 'put', path: '/v1/projects/{project}/stages/{stage}/apps/{app}/webhook', summary: "Set or replace an app's default webhook: a new secret, shown only here", body: P.SetWebhookRequest, response: P.CreatedWebhook },
  { method: 'delete', path: '/v1/projects/{project}/stages/{stage}/apps/{app}/webhook', summary: "Remove an app's default webhook", status: 204 },
  { method: 'get', path: '/v1/tokens', summary: 'List tokens', response: P.TokenList },
  { method: 'post', path: '/v1/tokens', summary: 'Create a token', body: P.CreateTokenRequest, response: P.CreatedToken, status: 201 },
  { method: 'delete', path: '/v1/tokens/{name}', summary: 'Revoke a token', status: 204 },
  { method: 'get', path: '/v1/projects/{project}/registries', summary: "A project's private registries: host, username, who set them (never the password)", response: P.RegistryList },
  { method: 'put', path: '/v1/projects/{project}/registries/{host}', summary: "Set or replace the project's credentials for a registry; its tasks' images from that host are pulled with them", body: P.SetRegistryRequest, response: P.Registry },
  { method: 'delete', path: '/v1/projects/{project}/registries/{host}', summary: "Remove the project's credentials for a registry", status: 204 },
  { method: 'get', path: '/v1/audit', summary: 'The audit trail, newest first: the events this token may read (docs/security.md)', query: P.ListAuditQuery, response: P.AuditEventList },
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

/** OpenAPI 3.1 generated from the protocol's zod schemas. */
export function buildOpenApi(version: string): Record<string, unknown> {
  const error = schema(P.ApiErrorBody, 'output');
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) {
    const creates = op.method === 'post' && op.status === 201;
    const inPath = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: schema(PATH_PARAMETERS[m[1]!]!, 'input') }));
    // Query values travel as text: numbers are described as numbers, sent as their digits.
    const inQuery = Object.entries(op.query?.shape ?? {}).map(([name, field]) => ({ name, in: 'query', required: false, schema: schema(field as z.ZodType, 'input') }));
    const parameters: Record<string, unknown>[] = [...inPath, ...inQuery];
    if (creates) parameters.push(idempotencyKeyParameter);
    const success = op.response
      ? { description: 'OK', content: { 'application/json': { schema: schema(op.response, 'output') } } }
      : { description: 'No content' };
    paths[op.path] ??= {};
    paths[op.path][op.method] = {
      summary: op.summary,
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(op.noAuth ? { security: [] } : {}),
      ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: schema(op.body, 'input') } } } } : {}),
      responses: {
        [String(op.status ?? 200)]: success,
        ...(creates ? { '200': { ...success, description: `Replayed: an earlier request with this ${P.IDEMPOTENCY_KEY_HEADER} created it` } } : {}),
        '4XX': { description: 'Bad input, auth, not found or conflict', content: { 'application/json': { schema: error } } },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'tapit scheduler', version },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths,
  };
}
