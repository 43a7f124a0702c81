import { Name, RegistryHost, SetRegistryRequest } from '@tapit/protocol';
import { Hono, type Context } from 'hono';
import { requireProject, requireRole } from '../auth/permissions.js';
import { recordAudit } from '../audit/record.js';
import { requestAudit } from '../audit/request-audit.js';
import type { AppDeps, HonoEnv } from '../http/context.js';
import { parseBody, parseParam } from '../http/validate.js';
import { deleteRegistry, listRegistries, setRegistry } from './repository.js';

/** A project's private registry credentials: set, listed (never the password) and deleted. */
export function registryRoutes(deps: AppDeps) {
  const { db, secrets } = deps;
  const routes = new Hono<HonoEnv>();

  const projectOf = (c: Context<HonoEnv>) => {
    const project = parseParam(c, 'project', Name);
    requireProject(c.get('principal'), project);
    return project;
  };

  routes.get('/projects/:project/registries', async (c) => c.json({ items: await listRegistries(db, projectOf(c)) }));

  // PUT: setting the same credentials twice is one state, as `docker login` again is.
  routes.put('/projects/:project/registries/:host', async (c) => {
    const project = projectOf(c);
    const principal = c.get('principal');
    requireRole(principal, 'member');
    const host = parseParam(c, 'host', RegistryHost);
    const body = await parseBody(c, SetRegistryRequest);
    const registry = await db.transaction().execute(async (trx) => {
      const result = await setRegistry(trx, secrets, project, { host, ...body }, principal.name);
      // The host and username only: never the password.
      await recordAudit(trx, { ...requestAudit(c), action: 'registry.set', targetType: 'registry', targetId: `${project}/${result.registry.host}`, project, details: { username: body.username, replaced: result.replaced } });
      return result.registry;
    });
    return c.json(registry);
  });

  routes.delete('/projects/:project/registries/:host', async (c) => {
    const project = projectOf(c);
    const principal = c.get('principal');
    requireRole(principal, 'member');
    const host = parseParam(c, 'host', RegistryHost).toLowerCase();
    await db.transaction().execute(async (trx) => {
      await deleteRegistry(trx, project, host);
      await recordAudit(trx, { ...requestAudit(c), action: 'registry.delete', targetType: 'registry', targetId: `${project}/${host}`, project });
    });
    return c.body(null, 204);
  });

  return routes;
}
