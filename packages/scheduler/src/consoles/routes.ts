import { Hono } from 'hono';
import { requireRole } from '../auth/permissions.js';
import type { AppDeps, HonoEnv } from '../http/context.js';
import { findTask } from '../tasks/repository.js';
import { listConsoleSessions, readRecording } from './repository.js';

/** Console and exec sessions of a task, and their recordings (asciicast v2). */
export function consoleRoutes(deps: AppDeps) {
  const { db } = deps;
  const routes = new Hono<HonoEnv>();

  routes.get('/tasks/:id/consoles', async (c) => {
    const task = await findTask(db, c.req.param('id'), c.get('principal').project);
    return c.json({ items: await listConsoleSessions(db, task.id) });
  });

  // A recording can hold what users typed: reading one takes a member, like opening a console.
  routes.get('/consoles/:session/recording', async (c) => {
    requireRole(c.get('principal'), 'member');
    const cast = await readRecording(db, c.req.param('session'), c.get('principal').project);
    c.header('content-type', 'application/x-asciicast');
    c.header('content-disposition', `attachment; filename="${c.req.param('session')}.cast"`);
    return c.body(cast);
  });

  return routes;
}
