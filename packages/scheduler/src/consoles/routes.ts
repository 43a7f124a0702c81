import { Hono } from 'hono';
import { stream } from 'hono/streaming';
import { requireRole } from '../auth/permissions.js';
import type { AppDeps, HonoEnv } from '../http/context.js';
import { findTask } from '../tasks/repository.js';
import { listConsoleSessions, openRecording } from './repository.js';

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
    const recording = await openRecording(db, c.req.param('session'), c.get('principal').project);
    c.header('content-type', 'application/x-asciicast');
    c.header('content-disposition', `attachment; filename="${c.req.param('session')}.cast"`);
    // A page of chunks at a time, each written once the client took the one before.
    return stream(c, async (out) => {
      await out.write(recording.header);
      for await (const page of recording.events()) {
        if (out.aborted) return;
        await out.write(page);
      }
    });
  });

  return routes;
}
