import { Readable } from 'node:stream';
import { CopyFileRequest, FILE_MODE_HEADER } from '@tapit/protocol';
import { Hono } from 'hono';
import { requireRole } from '../auth/permissions.js';
import { recordAudit } from '../audit/record.js';
import { requestAudit } from '../audit/request-audit.js';
import { DomainError } from '../domain/domain-error.js';
import type { AppDeps, HonoEnv } from '../http/context.js';
import { parseBody } from '../http/validate.js';
import { findTask } from '../tasks/repository.js';

/** `tapit cp TASK:/PATH LOCAL`: a file of a task's container, streamed from its agent. */
export function copyRoutes(deps: AppDeps) {
  const { db } = deps;
  const routes = new Hono<HonoEnv>();

  // A member's, as an exec is: a container's files may hold what its logs do not.
  routes.post('/tasks/:id/copy', async (c) => {
    const principal = c.get('principal');
    requireRole(principal, 'member');
    const body = await parseBody(c, CopyFileRequest);
    const task = await findTask(db, c.req.param('id'), principal.project);
    if (!deps.openCopy) throw new DomainError('CONFLICT', 'this scheduler does not relay copies');
    const copy = await deps.openCopy(task, body.path);
    try {
      // Recorded once the agent has the file, before a byte of it leaves.
      await recordAudit(db, { ...requestAudit(c), action: 'task.copy', targetType: 'task', targetId: task.id, project: task.project, details: { path: body.path, bytes: copy.size } });
    } catch (error) {
      copy.bytes.destroy();
      throw error;
    }
    return new Response(Readable.toWeb(copy.bytes) as ReadableStream, {
      status: 200,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(copy.size), [FILE_MODE_HEADER]: copy.mode.toString(8) },
    });
  });

  return routes;
}
