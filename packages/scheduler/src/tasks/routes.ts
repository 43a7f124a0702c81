import { CreateTaskRequest, ListTasksQuery, Name } from '@tapit/protocol';
import { Hono } from 'hono';
import { requireProject, requireRole } from '../auth/permissions.js';
import { recordAudit } from '../audit/record.js';
import { requestAudit } from '../audit/request-audit.js';
import { findApp } from '../apps/repository.js';
import { inTransaction } from '../db/transaction.js';
import type { AppDeps, HonoEnv } from '../http/context.js';
import { parseBody, parseParam, parseQuery } from '../http/validate.js';
import { createOnce } from '../idempotency/create-once.js';
import { createTask, deleteTask, findTask, listTasks, requestStop } from './repository.js';
import { toTask } from './task-view.js';
import { sealTaskEnv } from '../env/task-env.js';
import { bodyBytesBesidesFiles, createTaskBodyLimit, MAX_TASK_FILES_BYTES, storeTaskFiles, taskFilesBytes } from './task-files.js';
import { bodyLimitOf, MAX_BODY_BYTES } from '../http/body-limit.js';
import { ApiError } from '../http/api-error.js';

export function taskRoutes(deps: AppDeps) {
  const { db, signals, secrets } = deps;
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
    const app = await findApp(db, path);
    // The task's own initiatedBy wins; without one, the client's X-Initiated-By is the task's too.
    const initiatedBy = body.initiatedBy ?? c.get('initiatedBy') ?? undefined;
    const answer = await createOnce(c, db, async (trx) => {
      let row = await createTask(trx, app, { ...body, initiatedBy }, principal.name);
      const id = row.id;
      // Sealed bound to the task, so it needs its id: in the same transaction, before any agent sees it.
      if (body.env && Object.keys(body.env).length > 0) {
        row = await trx.updateTable('tasks').set(sealTaskEnv(secrets, id, body.env)).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
      }
      await storeTaskFiles(trx, id, files);
      await recordAudit(trx, {
        ...requestAudit(c),
        initiatedBy: initiatedBy ?? null,
        action: 'task.create',
        targetType: 'task',
        targetId: id,
        project: path.project,
        details: { app: path.app, kind: body.kind, ...(body.env ? { envKeys: Object.keys(body.env).sort() } : {}), ...(files.length > 0 ? { files: files.map((f) => f.path) } : {}) },
      });
      // The row as stored, with its app: no second read of what was just written.
      return toTask({ ...row, project: app.project, stage: app.stage, app_name: app.name });
    });
    // After the commit, so placement sees the task (on a replay a harmless nudge).
    signals.workAvailable();
    return answer;
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

  routes.post('/tasks/:id/stop', async (c) => {
    const principal = c.get('principal');
    requireRole(principal, 'member');
    const task = await findTask(db, c.req.param('id'), principal.project);
    await inTransaction(db, async (trx) => {
      await requestStop(trx, task.id, principal.name);
      await recordAudit(trx, { ...requestAudit(c), action: 'task.stop', targetType: 'task', targetId: task.id, project: task.project });
    });
    signals.workAvailable();
    signals.taskChanged(task.id);
    return c.json(toTask(await findTask(db, task.id, null)), 202);
  });

  routes.delete('/tasks/:id', async (c) => {
    const principal = c.get('principal');
    requireRole(principal, 'member');
    const task = await findTask(db, c.req.param('id'), principal.project);
    await inTransaction(db, async (trx) => {
      await deleteTask(trx, task);
      await recordAudit(trx, { ...requestAudit(c), action: 'task.delete', targetType: 'task', targetId: task.id, project: task.project });
    });
    // A container kept for copies goes with its task (an agent connected elsewhere removes it when its time is up).
    if (task.agent_name && task.keep_seconds) deps.removeContainer?.(task.agent_name, task.id);
    return c.body(null, 204);
  });

  return routes;
}
