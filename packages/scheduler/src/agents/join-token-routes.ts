import { CreateJoinTokenRequest, Name } from '@tapit/protocol';
import { Hono } from 'hono';
import { recordAudit } from '../audit/record.js';
import { requestAudit } from '../audit/request-audit.js';
import { requireAdminOfAllProjects } from '../auth/permissions.js';
import { inTransaction } from '../db/transaction.js';
import type { AppDeps, HonoEnv } from '../http/context.js';
import { parseBody, parseParam } from '../http/validate.js';
import { createOnce } from '../idempotency/create-once.js';
import { createJoinToken, listJoinTokens, revokeJoinToken } from './join-tokens.js';

/** Join tokens, which admit new agents: admins of all projects only. */
export function joinTokenRoutes(deps: AppDeps) {
  const { db } = deps;
  const routes = new Hono<HonoEnv>();

  routes.get('/join-tokens', async (c) => {
    requireAdminOfAllProjects(c.get('principal'));
    return c.json({ items: await listJoinTokens(db) });
  });

  routes.post('/join-tokens', async (c) => {
    const principal = requireAdminOfAllProjects(c.get('principal'));
    const body = await parseBody(c, CreateJoinTokenRequest);
    return createOnce(c, db, async (trx) => {
      const created = await createJoinToken(trx, body, principal.name);
      await recordAudit(trx, {
        ...requestAudit(c),
        action: 'join-token.create',
        targetType: 'join-token',
        targetId: created.name,
        details: { uses: created.uses, expiresAt: created.expiresAt },
      });
      return created;
    });
  });

  routes.delete('/join-tokens/:name', async (c) => {
    const principal = requireAdminOfAllProjects(c.get('principal'));
    const name = parseParam(c, 'name', Name);
    await inTransaction(db, async (trx) => {
      await revokeJoinToken(trx, name);
      await recordAudit(trx, { ...requestAudit(c), action: 'join-token.revoke', targetType: 'join-token', targetId: name });
    });
    return c.body(null, 204);
  });

  return routes;
}
