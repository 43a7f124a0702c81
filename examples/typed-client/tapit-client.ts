// Calls tapit from your own code with a client typed from its OpenAPI document (docs/api.md,
// "A typed client"). `tapit-api.d.ts` is generated, never edited:
//   tapit-scheduler openapi > tapit-openapi.json
//   npx openapi-typescript tapit-openapi.json -o tapit-api.d.ts
// Run (after tsc): TAPIT_URL=http://127.0.0.1:7700 TAPIT_TOKEN=… node tapit-client.js APP IMAGE
import createClient from 'openapi-fetch';
import type { components, paths } from './tapit-api.js';

/** A task as `GET /v1/tasks/{id}` answers it: the answers' types come with their paths. */
type Task = paths['/v1/tasks/{id}']['get']['responses'][200]['content']['application/json'];

/** A client for one scheduler: every path, body and answer is checked by the compiler. */
export function tapitClient(baseUrl: string, token: string) {
  return createClient<paths>({ baseUrl, headers: { authorization: `Bearer ${token}` } });
}

/** An error answer as one line, the way the CLI shows it: `CODE: message`. */
function failure(error: components['schemas']['ApiErrorBody']): Error {
  return new Error(`${error.error.code}: ${error.error.message}`);
}

/** Makes the app in the default project and stage (once), then starts `echo hello` in it. */
export async function startHello(client: ReturnType<typeof tapitClient>, app: string, image: string): Promise<Task> {
  const where = { project: 'default', stage: 'default' };
  const existing = await client.GET('/v1/projects/{project}/stages/{stage}/apps/{app}', { params: { path: { ...where, app } } });
  if (existing.response.status === 404) {
    const created = await client.POST('/v1/projects/{project}/stages/{stage}/apps', { params: { path: where }, body: { name: app, image } });
    if (created.error) throw failure(created.error);
  } else if (existing.error) {
    throw failure(existing.error);
  }
  const task = await client.POST('/v1/projects/{project}/stages/{stage}/apps/{app}/tasks', {
    params: { path: { ...where, app } },
    body: { args: ['echo', 'hello'], kind: 'background' },
  });
  if (task.error) throw failure(task.error);
  return task.data;
}

/** The app's tasks that have not ended, newest first. */
export async function unfinishedTasks(client: ReturnType<typeof tapitClient>, app: string): Promise<Task[]> {
  const { data, error } = await client.GET('/v1/tasks', { params: { query: { app, status: 'PROVISIONING,PENDING,RUNNING', limit: 100 } } });
  if (error) throw failure(error);
  return data.items;
}

if (process.argv[1] && import.meta.url === new URL(process.argv[1], 'file://').href) {
  const [app = 'hello', image = 'busybox:latest'] = process.argv.slice(2);
  const client = tapitClient(process.env.TAPIT_URL ?? 'http://127.0.0.1:7700', process.env.TAPIT_TOKEN ?? '');
  const started = await startHello(client, app, image);
  const unfinished = await unfinishedTasks(client, app);
  process.stdout.write(`${JSON.stringify({ started: started.id, unfinished: unfinished.map((task) => task.id) })}\n`);
}
