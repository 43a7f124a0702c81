/** @jsxImportSource hono/jsx */
import { listAgents, listAgentsOfProject } from '../agents/repository.js';
import { AgentsPage } from './agents-page.js';
import type { PageContext } from './page-context.js';

/** `/agents`, read as `GET /v1/agents` reads it: a project token sees only the agents running its tasks, with less. */
export function agentRoutes({ routes, deps, signedIn }: PageContext) {
  routes.get('/agents', signedIn, async (c) => {
    const viewer = c.get('viewer');
    const { project } = viewer.principal;
    const agents = project === null ? await listAgents(deps.db) : await listAgentsOfProject(deps.db, project);
    return c.html(<AgentsPage viewer={viewer} agents={agents} />);
  });
}
