import { Name, UpdateAgentRequest } from '@tapit/protocol';
import { Hono, type Context } from 'hono';
import { recordAudit } from '../audit/record.js';
import { requestAudit } from '../audit/request-audit.js';
import { requireAdminOfAllProjects } from '../auth/permissions.js';
import { inTransaction } from '../db/transaction.js';
import type { AppDeps, HonoEnv } from '../http/context.js';
import { parseBody, parseParam } from '../http/validate.js';
import { deleteAgent, revokeAgent, updateAgent } from './agent-admin.js';
import { listAgents, listAgentsOfProject } from './repository.js';

/** Agents: listed to everyone (a project token sees only the agents of its tasks), managed by admins. */
export function agentRoutes(deps: AppDeps) {
  const { db } = deps;
  const routes = new Hono<HonoEnv>();
  const changed = async (name: string, ended: string[] = []) => {
    for (const id of ended) deps.signals.taskChanged(id);
    await deps.agentChanged?.(name).catch(() => undefined);
  };

  routes.get('/agents', async (c) => {
    const { project } = c.get('principal');
    return c.json({ items: project === null ? await listAgents(db) : await listAgentsOfProject(db, project) });
  });

  routes.patch('/agents/:name', async (c) => {
    const principal = requireAdminOfAllProjects(c.get('principal'));
    const name = parseParam(c, 'name', Name);
    const body = await parseBody(c, UpdateAgentRequest);
    await inTransaction(db, async (trx) => {
      await updateAgent(trx, name, body);
      await recordAudit(trx, { ...requestAudit(c), action: 'agent.update', targetType: 'agent', targetId: name, details: body });
    });
    await changed(name);
    deps.signals.workAvailable();
    return c.json((await listAgents(db)).find((a) => a.name === name));
  });

  /** Revoke and delete: both end the agent's tasks and its connection, and are audited alike. */
  const shutOut = (action: 'revoke' | 'delete', apply: typeof revokeAgent) => async (c: Context<HonoEnv>) => {
    const principal = requireAdminOfAllProjects(c.get('principal'));
    const name = parseParam(c, 'name', Name);
    const ended = await inTransaction(db, async (trx) => {
      const lost = await apply(trx, name, principal.name);
      await recordAudit(trx, { ...requestAudit(c), action: `agent.${action}`, targetType: 'agent', targetId: name, details: { tasksLost: lost.length } });
      return lost;
    });
    await changed(name, ended);
    return c.body(null, 204);
  };
  routes.post('/agents/:name/revoke', shutOut('revoke', revokeAgent));
  routes.delete('/agents/:name', shutOut('delete', deleteAgent));

  return routes;
}
