/** @jsxImportSource hono/jsx */
import { ListAuditQuery } from '@tapit/protocol';
import { durationSeconds } from '@tapit/protocol/format';
import { listAuditEvents } from '../audit/repository.js';
import { requireProject } from '../auth/permissions.js';
import { parseValue } from '../http/validate.js';
import { AuditPage, type AuditFilters } from './audit-page.js';
import { PAGE_SIZE, queryError, queryOf } from './filters.js';
import type { PageContext } from './page-context.js';

/** `/audit`, read as `GET /v1/audit` reads it (audit/repository.ts: each token within what it sees). */
export function auditRoutes({ routes, deps, signedIn }: PageContext) {
  routes.get('/audit', signedIn, async (c) => {
    const viewer = c.get('viewer');
    const raw = queryOf(c.req.query());
    const filters: AuditFilters = { since: raw.since, actor: raw.actor, action: raw.action, target: raw.target, project: raw.project, limit: raw.limit };
    // `since` as `tapit list audit --since` takes it: a duration ago (1h, 7d), or a timestamp.
    const seconds = raw.since === undefined ? null : durationSeconds(raw.since);
    const since = seconds === null ? raw.since : new Date(Date.now() - seconds * 1000).toISOString();
    let query;
    try {
      query = parseValue({ ...raw, since, limit: raw.limit ?? PAGE_SIZE }, ListAuditQuery);
    } catch (caught) {
      const error = queryError(caught);
      if (error === undefined) throw caught;
      return c.html(<AuditPage viewer={viewer} filters={filters} events={[]} nextCursor={null} paged={false} error={error} />, 400);
    }
    // Another project is as missing for a project token as anywhere else.
    if (query.project !== undefined) requireProject(viewer.principal, query.project);
    const { items, nextCursor } = await listAuditEvents(deps.db, viewer.principal, query);
    return c.html(<AuditPage viewer={viewer} filters={filters} events={items} nextCursor={nextCursor} paged={query.cursor !== undefined} />);
  });
}
