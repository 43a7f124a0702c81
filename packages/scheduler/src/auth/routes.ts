import { CreateTokenRequest, Name } from '@tapit/protocol';
import { Hono } from 'hono';
import { recordAudit } from '../audit/record.js';
import { requestAudit } from '../audit/request-audit.js';
import { inTransaction } from '../db/transaction.js';
import type { AppDeps, HonoEnv } from '../http/context.js';
import { parseBody, parseParam } from '../http/validate.js';
import { createOnce } from '../idempotency/create-once.js';
import { requireAllProjects, requireRole } from './permissions.js';
import { createToken, listTokens, revokeToken } from './tokens.js';

export function authRoutes(deps: AppDeps) {
  const { db } = deps;
  const routes = new Hono<HonoEnv>();

  routes.get('/whoami', (c) => c.json(c.get('principal')));

  routes.get('/tokens', async (c) => {
    requireRole(c.get('principal'), 'admin');
    requireAllProjects(c.get('principal'));
    return c.json({ items: await listTokens(db) });
  });

  routes.post('/tokens', async (c) => {
    const principal = c.get('principal');
    requireRole(principal, 'admin');
    requireAllProjects(principal);
    const body = await parseBody(c, CreateTokenRequest);
    return createOnce(c, db, async (trx) => {
      const created = await createToken(trx, body, principal.name);
      await recordAudit(trx, { ...requestAudit(c), action: 'token.create', targetType: 'token', targetId: body.name, project: body.project ?? null, details: { role: body.role } });
      return created;
    });
  });

  routes.delete('/tokens/:name', async (c) => {
    const principal = c.get('principal');
    requireRole(principal, 'admin');
    requireAllProjects(principal);
    const name = parseParam(c, 'name', Name);
    await inTransaction(db, async (trx) => {
      await revokeToken(trx, name);
      await recordAudit(trx, { ...requestAudit(c), action: 'token.revoke', targetType: 'token', targetId: name });
    });
    // After the commit: a revocation that rolled back must not end the token's streams.
    deps.tokenWatch.revoked(name);
    return c.body(null, 204);
  });

  return routes;
}
