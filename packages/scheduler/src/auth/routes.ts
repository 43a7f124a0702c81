import { CreateTokenRequest, Name } from '@tapit/protocol';
import { Hono } from 'hono';
import { requestAudit } from '../audit/request-audit.js';
import type { AppDeps, HonoEnv } from '../http/context.js';
import { parseBody, parseParam } from '../http/validate.js';
import { createOnce } from '../idempotency/create-once.js';
import { requireTokenAdmin, revokeTokenAs, tokenCreation } from './token-actions.js';
import { listTokens } from './tokens.js';

export function authRoutes(deps: AppDeps) {
  const { db } = deps;
  const routes = new Hono<HonoEnv>();

  routes.get('/whoami', (c) => c.json(c.get('principal')));

  routes.get('/tokens', async (c) => {
    requireTokenAdmin(c.get('principal'));
    return c.json({ items: await listTokens(db) });
  });

  routes.post('/tokens', async (c) => {
    requireTokenAdmin(c.get('principal'));
    const body = await parseBody(c, CreateTokenRequest);
    return createOnce(c, db, tokenCreation(c.get('principal'), requestAudit(c), body));
  });

  routes.delete('/tokens/:name', async (c) => {
    requireTokenAdmin(c.get('principal'));
    const name = parseParam(c, 'name', Name);
    await revokeTokenAs(db, deps.tokenWatch, c.get('principal'), requestAudit(c), name);
    return c.body(null, 204);
  });

  return routes;
}
