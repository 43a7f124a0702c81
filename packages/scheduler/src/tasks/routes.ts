import { CreateTaskRequest, IDEMPOTENT_REPLAYED_HEADER, ListTasksQuery, Name } from '@tapit/protocol';
import { Hono } from 'hono';
import { requireProject, requireRole } from '../auth/permissions.js';
import { requestAudit } from '../audit/request-audit.js';
import type { AppDeps, HonoEnv } from '../http/context.js';
import { parseBody, parseParam, parseQuery } from '../http/validate.js';
import { idempotencyKeyOf, requestFingerprint } from '../idempotency/create-once.js';
import { keyHash } from '../idempotency/seal.js';
import { taskCreationOf } from './create-batch.js';
import { findTask, listTasks } from './repository.js';
import { deleteTaskAs, stopTaskAs } from './task-actions.js';
import { toTask } from './task-view.js';
import { bodyBytesBesidesFiles, createTaskBodyLimit, MAX_TASK_FILES_BYTES, taskFilesBytes } from './task-files.js';
import { bodyLimitOf, MAX_BODY_BYTES } from '../http/body-limit.js';
import { ApiError } from '../http/api-error.js';

export function taskRoutes(deps: AppDeps) {
  const { db, signals, secrets } = deps;
  const creation = taskCreationOf(db, secrets);
  const routes = new Hono<HonoEnv>();

  const filesMax = deps.taskFilesMaxBytes ?? MAX_TASK_FILES_BYTES;
  const filesLimit = ` (a task's files: at most ${filesMax} bytes together, TAPIT_TASK_FILES_MAX_BYTES)`;
  routes.post('/projects/:project/stages/:stage/apps/:app/tasks', bodyLimitOf(createTaskBodyLimit(MAX_BODY_BYTES, filesMax), filesLimit), async (c) => {
    const principal = c.get('principal');
    const path = { project: parseParam(c, 'project', Name), stage: parseParam(c, 'stage', Name), app: parseParam(c, 'app', Name) };
    requireProject(principal, path.project);
    requireRole(principal, 'member');
    // Only the files' content gets this route's larger limit: the rest stays within 1 MiB.
    const raw: unknown = await c.req.json().catch(() => undefined);
    if (bodyBytesBesidesFiles(raw) > MAX_BODY_BYTES) throw new ApiError('PAYLOAD_TOO_LARGE', `body must be at most ${MAX_BODY_BYTES} bytes besides its files' content`);
    const body = await parseBody(c, CreateTaskRequest);
    const files = body.files ?? [];
    const filesBytes = taskFilesBytes(files);
    if (filesBytes > filesMax) throw new ApiError('PAYLOAD_TOO_LARGE', `files hold ${filesBytes} bytes; a task's files may hold at most ${filesMax} bytes together (TAPIT_TASK_FILES_MAX_BYTES)`, 'files');
    // The task's own initiatedBy wins; without one, the client's X-Initiated-By is the task's too.
    const initiatedBy = body.initiatedBy ?? c.get('initiatedBy') ?? undefined;
    const key = idempotencyKeyOf(c);
    const answer = await creation.submit({
      path,
      body: { ...body, initiatedBy },
      files,
      actor: principal.name,
      source: requestAudit(c).source,
      idempotency: key === null ? null : { key, keyHash: keyHash(key), fingerprint: requestFingerprint(c.req.method, c.req.path, raw ?? null) },
    });
    // After the commit, so placement sees the task (on a replay a harmless nudge).
    signals.workAvailable();
    if (answer.replayed) c.header(IDEMPOTENT_REPLAYED_HEADER, 'true');
    return c.json(answer.task, answer.replayed ? 200 : 201);
  });

  routes.get('/tasks', async (c) => {
    const principal = c.get('principal');
    const query = parseQuery(c, ListTasksQuery);
    if (query.project) requireProject(principal, query.project);
    const { rows, nextCursor } = await listTasks(db, { ...query, project: principal.project ?? query.project });
    return c.json({ items: rows.map(toTask), nextCursor });
  });

  routes.get('/tasks/:id', async (c) => {
    const task = await findTask(db, c.req.param('id'), c.get('principal').project);
    return c.json(toTask(task));
  });

  // The checks and the audit are the dashboard's buttons' too (task-actions.ts).
  routes.post('/tasks/:id/stop', async (c) => {
    const task = await stopTaskAs(deps, c.get('principal'), c.req.param('id'), requestAudit(c));
    return c.json(toTask(task), 202);
  });

  routes.delete('/tasks/:id', async (c) => {
    await deleteTaskAs(deps, c.get('principal'), c.req.param('id'), requestAudit(c));
    return c.body(null, 204);
  });

  return routes;
}
