import { Name, UpdateEnvRequest } from '@tapit/protocol';
import { Hono, type Context } from 'hono';
import { requireProject, requireRole } from '../auth/permissions.js';
import { recordAudit } from '../audit/record.js';
import { requestAudit } from '../audit/request-audit.js';
import { findApp } from '../apps/repository.js';
import { inTransaction } from '../db/transaction.js';
import type { AppDeps, HonoEnv } from '../http/context.js';
import { parseBody, parseParam } from '../http/validate.js';
import { listEnv, updateEnv } from './app-env.js';

const ENV_PATH = '/projects/:project/stages/:stage/apps/:app/env';

/** An app's env vars: `tapit list env`, `set env`, `unset env`. A secret's value never comes back. */
export function envRoutes(deps: AppDeps) {
  const { db, secrets } = deps;
  const routes = new Hono<HonoEnv>();
  const appPath = (c: Context<HonoEnv>) => {
    const project = parseParam(c, 'project', Name);
    requireProject(c.get('principal'), project);
    return { project, stage: parseParam(c, 'stage', Name), app: parseParam(c, 'app', Name) };
  };

  routes.get(ENV_PATH, async (c) => {
    const app = await findApp(db, appPath(c));
    return c.json({ items: await listEnv(db, app) });
  });

  routes.patch(ENV_PATH, async (c) => {
    const path = appPath(c);
    const principal = c.get('principal');
    requireRole(principal, 'member');
    const app = await findApp(db, path);
    const body = await parseBody(c, UpdateEnvRequest);
    const items = await inTransaction(db, async (trx) => {
      const { set, unset } = await updateEnv(trx, secrets, app, body, principal.name);
      // Names only: a value, secret or not, never goes into the audit trail.
      await recordAudit(trx, {
        ...requestAudit(c),
        action: 'env.update',
        targetType: 'app',
        targetId: `${path.project}/${path.stage}/${path.app}`,
        project: path.project,
        details: { set, unset, secret: body.secret === true },
      });
      return listEnv(trx, app);
    });
    return c.json({ items });
  });

  return routes;
}
