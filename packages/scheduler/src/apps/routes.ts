import { CreateAppRequest, CreateProjectRequest, CreateReleaseRequest, CreateStageRequest, Name, UpdateAppRequest } from '@tapit/protocol';
import { Hono, type Context } from 'hono';
import { requireAllProjects, requireProject, requireRole } from '../auth/permissions.js';
import { recordAudit } from '../audit/record.js';
import { requestAudit } from '../audit/request-audit.js';
import { inTransaction } from '../db/transaction.js';
import type { AppDeps, HonoEnv } from '../http/context.js';
import { parseBody, parseParam } from '../http/validate.js';
import { createOnce } from '../idempotency/create-once.js';
import { createApp, createProject, createRelease, createStage, findApp, listApps, listProjects, listReleases, toApp, updateApp } from './repository.js';

/** Projects, stages, apps and releases. */
export function appRoutes(deps: AppDeps) {
  const { db } = deps;
  const routes = new Hono<HonoEnv>();

  routes.get('/projects', async (c) => c.json({ items: await listProjects(db, c.get('principal').project) }));

  routes.post('/projects', async (c) => {
    const principal = c.get('principal');
    requireRole(principal, 'admin');
    requireAllProjects(principal);
    const body = await parseBody(c, CreateProjectRequest);
    return createOnce(c, db, async (trx) => {
      const project = await createProject(trx, body.name);
      await recordAudit(trx, { ...requestAudit(c), action: 'project.create', targetType: 'project', targetId: body.name, project: body.name });
      return project;
    });
  });

  routes.post('/projects/:project/stages', async (c) => {
    const principal = c.get('principal');
    const project = parseParam(c, 'project', Name);
    requireProject(principal, project);
    requireRole(principal, 'admin');
    const body = await parseBody(c, CreateStageRequest);
    return createOnce(c, db, async (trx) => {
      const result = await createStage(trx, project, body.name);
      await recordAudit(trx, { ...requestAudit(c), action: 'stage.create', targetType: 'stage', targetId: `${project}/${body.name}`, project });
      return result;
    });
  });

  const stagePath = (c: Context<HonoEnv>) => {
    const project = parseParam(c, 'project', Name);
    requireProject(c.get('principal'), project);
    return { project, stage: parseParam(c, 'stage', Name) };
  };
  const appPath = (c: Context<HonoEnv>) => ({ ...stagePath(c), app: parseParam(c, 'app', Name) });

  routes.get('/projects/:project/stages/:stage/apps', async (c) => {
    const { project, stage } = stagePath(c);
    return c.json({ items: await listApps(db, project, stage) });
  });

  routes.post('/projects/:project/stages/:stage/apps', async (c) => {
    const { project, stage } = stagePath(c);
    const principal = c.get('principal');
    requireRole(principal, 'member');
    const body = await parseBody(c, CreateAppRequest);
    return createOnce(c, db, async (trx) => {
      const app = await createApp(trx, project, stage, body);
      await recordAudit(trx, { ...requestAudit(c), action: 'app.create', targetType: 'app', targetId: `${project}/${stage}/${body.name}`, project, details: { image: body.image, constraints: body.constraints ?? {} } });
      return app;
    });
  });

  routes.get('/projects/:project/stages/:stage/apps/:app', async (c) => {
    return c.json(toApp(await findApp(db, appPath(c))));
  });

  routes.patch('/projects/:project/stages/:stage/apps/:app', async (c) => {
    const path = appPath(c);
    const principal = c.get('principal');
    requireRole(principal, 'member');
    const app = await findApp(db, path);
    const body = await parseBody(c, UpdateAppRequest);
    const updated = await inTransaction(db, async (trx) => {
      const result = await updateApp(trx, app, body);
      await recordAudit(trx, { ...requestAudit(c), action: 'app.update', targetType: 'app', targetId: `${path.project}/${path.stage}/${path.app}`, project: path.project, details: body });
      return result;
    });
    return c.json(updated);
  });

  routes.get('/projects/:project/stages/:stage/apps/:app/releases', async (c) => {
    const app = await findApp(db, appPath(c));
    return c.json({ items: await listReleases(db, app) });
  });

  routes.post('/projects/:project/stages/:stage/apps/:app/releases', async (c) => {
    const path = appPath(c);
    const principal = c.get('principal');
    requireRole(principal, 'member');
    const app = await findApp(db, path);
    const body = await parseBody(c, CreateReleaseRequest);
    return createOnce(c, db, async (trx) => {
      const release = await createRelease(trx, app, body.image);
      await recordAudit(trx, { ...requestAudit(c), action: 'release.create', targetType: 'app', targetId: `${path.project}/${path.stage}/${path.app}`, project: path.project, details: { release: release.number, image: body.image } });
      return release;
    });
  });

  return routes;
}
