import { ListAuditQuery } from '@tapit/protocol';
import { Hono } from 'hono';
import { requireProject } from '../auth/permissions.js';
import type { AppDeps, HonoEnv } from '../http/context.js';
import { parseQuery } from '../http/validate.js';
import { listAuditEvents } from './repository.js';

/** The audit trail: every role reads it, each within what its token sees (audit/repository.ts). */
export function auditRoutes(deps: AppDeps) {
  const routes = new Hono<HonoEnv>();

  routes.get('/audit', async (c) => {
    const principal = c.get('principal');
    const query = parseQuery(c, ListAuditQuery);
    // Another project is as missing for a project token as anywhere else.
    if (query.project !== undefined) requireProject(principal, query.project);
    return c.json(await listAuditEvents(deps.db, principal, query));
  });

  return routes;
}
