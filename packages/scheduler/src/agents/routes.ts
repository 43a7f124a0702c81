import { Hono } from 'hono';
import type { AppDeps, HonoEnv } from '../http/context.js';
import { listAgents } from './repository.js';

export function agentRoutes(deps: AppDeps) {
  const routes = new Hono<HonoEnv>();
  routes.get('/agents', async (c) => c.json({ items: await listAgents(deps.db) }));
  return routes;
}
