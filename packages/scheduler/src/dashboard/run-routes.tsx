/** @jsxImportSource hono/jsx */
import { randomUUID } from 'node:crypto';
import { CreateTaskRequest, MAX_TASK_FILES_BYTES, Name, parseLabels, type TaskFile } from '@tapit/protocol';
import { durationSeconds } from '@tapit/protocol/format';
import type { Context } from 'hono';
import type { Kysely } from 'kysely';
import { listApps, listProjects, type AppPath } from '../apps/repository.js';
import { requireProject, requireRole } from '../auth/permissions.js';
import type { Principal } from '../auth/tokens.js';
import type { Database } from '../db/schema.js';
import { ApiError, toApiError } from '../http/api-error.js';
import { parseValue } from '../http/validate.js';
import { formIdempotency } from './form-idempotency.js';
import { taskCreationOf } from '../tasks/create-batch.js';
import { taskFilesBytes } from '../tasks/task-files.js';
import { formText, requesterOf, type DashboardEnv, type PageContext } from './page-context.js';
import { RUN_FIELDS, RunPage, type RunForm } from './run-page.js';

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/**
 * `/run`: a task from a form, created as `POST /v1/projects/P/stages/S/apps/A/tasks` creates one
 * (its permission checks, its schema and its create batch, so the same audit event and the same
 * Idempotency-Key replay: the form's hidden key makes a resent form answer the first task).
 */
export function runRoutes({ routes, deps, signedIn }: PageContext) {
  const { db, signals, secrets } = deps;
  const creation = taskCreationOf(db, secrets);
  const filesMax = deps.taskFilesMaxBytes ?? MAX_TASK_FILES_BYTES;

  routes.get('/run', signedIn, async (c) => {
    // `?app=project/stage/app` preselects an app (a link from elsewhere).
    const form: RunForm = { app: c.req.query('app') ?? '' };
    return c.html(<RunPage viewer={c.get('viewer')} apps={await visibleApps(db, c.get('viewer').principal)} form={form} idempotencyKey={randomUUID()} />);
  });

  routes.post('/run', signedIn, async (c) => {
    const viewer = c.get('viewer');
    // `all`: several files may come in one field.
    const raw = await c.req.parseBody({ all: true });
    const form: RunForm = Object.fromEntries(Object.entries(raw).flatMap(([k, v]) => (typeof v === 'string' && k !== 'csrf' ? [[k, v]] : [])));
    try {
      const taskId = await createFromForm(c, raw);
      return c.redirect(`/tasks/${taskId}`, 303);
    } catch (caught) {
      const answer = toApiError(caught);
      if (!answer) throw caught;
      const apps = await visibleApps(db, viewer.principal);
      // A refused form used up no key: sent again corrected, it still creates once. A key already
      // used for other values (a form restored from the history, then changed) gets a new one.
      const reused = answer.code === 'IDEMPOTENCY_KEY_REUSED';
      const again = (!reused && formText(raw, 'idempotency_key')) || randomUUID();
      const message = reused ? 'This form was already sent with other values, which created a task. Press Run again to create another one with these.' : answer.message;
      return c.html(<RunPage viewer={viewer} apps={apps} form={form} idempotencyKey={again} error={{ message, field: answer.field }} />, answer.status as 400);
    }
  });

  /** The API route's steps: the app's project, the role, the body's schema, then the create batch. */
  async function createFromForm(c: Context<DashboardEnv>, raw: Record<string, unknown>): Promise<string> {
    const { principal } = c.get('viewer');
    const path = appPathOf(formText(raw, 'app'));
    requireProject(principal, path.project);
    requireRole(principal, 'member');
    const files = await filesOfForm(raw);
    const request = { ...requestOfForm(raw), ...(files.length > 0 ? { files } : {}) };
    const body = parseValue(request, CreateTaskRequest);
    const filesBytes = taskFilesBytes(body.files ?? []);
    if (filesBytes > filesMax) throw new ApiError('PAYLOAD_TOO_LARGE', `files hold ${filesBytes} bytes; a task's files may hold at most ${filesMax} bytes together (TAPIT_TASK_FILES_MAX_BYTES)`, 'files');
    const apiPath = `/v1/projects/${path.project}/stages/${path.stage}/apps/${path.app}/tasks`;
    const requester = requesterOf(c);
    const answer = await creation.submit({
      path,
      body,
      files: body.files ?? [],
      actor: requester.actor,
      source: requester.source,
      idempotency: formIdempotency(formText(raw, 'idempotency_key'), apiPath, request),
    });
    // After the commit, so placement sees the task (on a replay a harmless nudge).
    signals.workAvailable();
    return (answer.task as { id: string }).id;
  }
}

/** Every app the principal sees, as `project/stage/app`: its project's only, for a limited token. */
async function visibleApps(db: Kysely<Database>, principal: Principal): Promise<string[]> {
  const apps: string[] = [];
  for (const project of await listProjects(db, principal.project)) {
    for (const stage of project.stages) {
      for (const app of await listApps(db, project.name, stage)) apps.push(`${project.name}/${stage}/${app.name}`);
    }
  }
  return apps;
}

function appPathOf(text: string): AppPath {
  const parts = text.split('/');
  if (parts.length !== 3) throw new ApiError('VALIDATION_FAILED', 'app: choose an app as project/stage/app', 'app');
  const [project, stage, app] = parts as [string, string, string];
  return { project: nameOf('project', project), stage: nameOf('stage', stage), app: nameOf('app', app) };
}

/** A path name checked as the API checks its path parameters (parseParam). */
function nameOf(what: string, text: string): string {
  const result = Name.safeParse(text);
  if (!result.success) throw new ApiError('VALIDATION_FAILED', `${what}: ${result.error.issues[0]?.message}`, what);
  return result.data;
}

/**
 * The form as the API's request body: what `tapit create task` sends for the same keys. Empty
 * fields are left out (the app's values apply); numbers must read as numbers.
 */
function requestOfForm(raw: Record<string, unknown>): Record<string, unknown> {
  const body: Record<string, unknown> = { command: formText(raw, 'command') || undefined, kind: formText(raw, 'kind') || undefined };
  for (const f of RUN_FIELDS) {
    const text = formText(raw, f.key);
    if (text === '') continue;
    if (f.key === 'constraint') body.constraints = labelsOf(text);
    else if (f.type === 'duration') {
      const seconds = durationSeconds(text);
      if (seconds === null) throw new ApiError('VALIDATION_FAILED', `${f.field}: must be a duration such as 30m, 24h or 7d (${f.key}=${JSON.stringify(text.slice(0, 40))} is not)`, f.field);
      body[f.field] = seconds;
    }
    else if (f.type === 'number') {
      if (!NUMBER.test(text)) throw new ApiError('VALIDATION_FAILED', `${f.field}: must be a number (${f.key}=${JSON.stringify(text.slice(0, 40))} is not)`, f.field);
      body[f.field] = Number(text);
    } else body[f.field] = text;
  }
  const entrypoint = linesOf(raw, 'entrypoint');
  if (entrypoint.length > 0) body.entrypoint = entrypoint;
  const env = linesOf(raw, 'env');
  if (env.length > 0) {
    const vars: Record<string, string> = {};
    for (const line of env) {
      const at = line.indexOf('=');
      // Only the name is quoted back: a value may be a secret.
      if (at <= 0) throw new ApiError('VALIDATION_FAILED', 'env: each line must be KEY=VALUE, e.g. RAILS_ENV=production', 'env');
      vars[line.slice(0, at)] = line.slice(at + 1);
    }
    body.env = vars;
  }
  return body;
}

/**
 * The files picked, as `--file LOCAL:DIR/NAME` sends them: each into the container folder given,
 * under its own name, with the mode chosen (a browser does not tell a file's mode).
 */
async function filesOfForm(raw: Record<string, unknown>): Promise<TaskFile[]> {
  const picked = ([] as unknown[]).concat(raw.file ?? []).filter((f): f is File => f instanceof File && f.name !== '');
  if (picked.length === 0) return [];
  const dir = formText(raw, 'file_dir').replace(/\/+$/, '');
  if (!dir.startsWith('/')) throw new ApiError('VALIDATION_FAILED', 'files: give the folder in the container the files go into, an absolute path such as /app', 'files');
  const mode = formText(raw, 'file_mode') === '755' ? 0o755 : 0o644;
  return Promise.all(picked.map(async (file) => ({ path: `${dir}/${file.name}`, mode, content: Buffer.from(await file.arrayBuffer()).toString('base64') })));
}

function labelsOf(text: string): Record<string, string> {
  try {
    return parseLabels(text);
  } catch (caught) {
    throw new ApiError('VALIDATION_FAILED', `constraints: ${(caught as Error).message}`, 'constraints');
  }
}

function linesOf(raw: Record<string, unknown>, name: string): string[] {
  return formText(raw, name)
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
}
