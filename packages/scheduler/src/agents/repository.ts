import type { AgentView, Capacity, Labels } from '@tapit/protocol';
import { sql, type Kysely } from 'kysely';
import { storableText } from '../db/errors.js';
import type { AgentRow, Database } from '../db/schema.js';

/** Statuses of a task placed on an agent, holding its resources (the partial index tasks_agent_active_idx covers them). */
export const ON_AGENT_STATUSES = ['PENDING', 'RUNNING', 'STOPPING'] as const;

/** Agents with what their active tasks hold, for tokens of all projects. */
export async function listAgents(db: Kysely<Database>): Promise<AgentView[]> {
  const rows = await db
    .selectFrom('agents')
    .leftJoin(
      (eb) =>
        eb
          .selectFrom('tasks')
          .select((e) => [
            'agent_name',
            e.fn.sum<number>('cpu').as('cpu'),
            e.fn.sum<number>('memory_gb').as('memory_gb'),
            e.fn.countAll<number>().as('count'),
          ])
          .where('status', 'in', [...ON_AGENT_STATUSES])
          .where('agent_name', 'is not', null)
          .groupBy('agent_name')
          .as('held'),
      (join) => join.onRef('held.agent_name', '=', 'agents.name'),
    )
    .selectAll('agents')
    .select(['held.cpu', 'held.memory_gb', 'held.count'])
    .orderBy('agents.name')
    .execute();
  return rows.map((r) => ({
    ...publicView(r),
    ready: r.status === 'online' && r.not_ready_reason === null,
    notReadyReason: r.status === 'online' ? r.not_ready_reason : null,
    drained: r.drained,
    capacity: { cpu: r.capacity_cpu_set ?? r.capacity_cpu, memoryGb: r.capacity_memory_gb_set ?? r.capacity_memory_gb },
    capacitySet: r.capacity_cpu_set !== null || r.capacity_memory_gb_set !== null,
    allocated: { cpu: Number(r.cpu ?? 0), memoryGb: Number(r.memory_gb ?? 0) },
    runningTasks: Number(r.count ?? 0),
  }));
}

/**
 * What a token limited to one project sees: only the agents running that project's tasks, and
 * nothing of their capacity, use or other tasks.
 */
export async function listAgentsOfProject(db: Kysely<Database>, project: string): Promise<AgentView[]> {
  const rows = await db
    .selectFrom('agents')
    .selectAll('agents')
    .where('agents.name', 'in', (eb) =>
      eb
        .selectFrom('tasks')
        .innerJoin('apps', 'apps.id', 'tasks.app_id')
        .select('tasks.agent_name')
        .where('apps.project', '=', project)
        .where('tasks.status', 'in', [...ON_AGENT_STATUSES])
        .where('tasks.agent_name', 'is not', null)
        .$narrowType<{ agent_name: string }>(),
    )
    .orderBy('agents.name')
    .execute();
  return rows.map(publicView);
}

function publicView(r: AgentRow): AgentView {
  return {
    name: r.name,
    status: r.revoked_at !== null ? 'revoked' : (r.status as AgentView['status']),
    labels: r.labels,
    version: r.version,
    lastSeenAt: r.last_seen_at.toISOString(),
    connectedAt: r.connected_at ? r.connected_at.toISOString() : null,
  };
}

export async function markAgentOnline(
  db: Kysely<Database>,
  agent: { name: string; capacity: Capacity; version: string; schedulerId: string; notReadyReason: string | null; labels?: Labels },
): Promise<void> {
  const now = new Date();
  const values = {
    status: 'online',
    not_ready_reason: agent.notReadyReason === null ? null : storableText(agent.notReadyReason),
    capacity_cpu: agent.capacity.cpu,
    capacity_memory_gb: agent.capacity.memoryGb,
    version: storableText(agent.version),
    scheduler_id: agent.schedulerId,
    connected_at: now,
    last_seen_at: now,
    labels: JSON.stringify(agent.labels ?? {}),
  };
  await db
    .insertInto('agents')
    .values({ name: agent.name, ...values })
    .onConflict((oc) => oc.column('name').doUpdateSet(values))
    .execute();
}

/** Whether an agent's engine answers: the reason it cannot run tasks, or null when ready. */
export interface Readiness {
  name: string;
  notReadyReason: string | null;
}

/**
 * Agents' readiness as they report it, in one statement: only for agents this replica holds. A
 * thousand agents back at once (a scheduler restart) say so together, and a statement each held
 * placement's connections up.
 */
export async function setAgentsReadiness(db: Kysely<Database>, schedulerId: string, changes: readonly Readiness[]): Promise<void> {
  if (changes.length === 0) return;
  const values = sql.join(changes.map((c) => sql`(${c.name}::text, ${c.notReadyReason === null ? null : storableText(c.notReadyReason)}::text)`));
  await sql`
    UPDATE agents SET not_ready_reason = v.reason
      FROM (VALUES ${values}) AS v (name, reason)
     WHERE agents.name = v.name AND agents.scheduler_id = ${schedulerId}`.execute(db);
}

/**
 * When an agent was last heard, on the database's clock: now() less how long this replica has
 * not heard it (a duration on its own clock), never moving back.
 */
const lastHeard = (silentMs: number) => sql<Date>`greatest(last_seen_at, now() - ${Math.max(0, Math.round(silentMs))} * interval '1 millisecond')`;

/**
 * Offline only if still held by this replica: the agent may already be back on another. Its
 * last_seen_at is when it was last heard, not when the silence was noticed (three intervals later).
 */
export async function markAgentOffline(db: Kysely<Database>, name: string, schedulerId: string, silentMs: number): Promise<void> {
  await db
    .updateTable('agents')
    .set({ status: 'offline', scheduler_id: null, last_seen_at: lastHeard(silentMs) })
    .where('name', '=', name)
    .where('scheduler_id', '=', schedulerId)
    .execute();
}

/**
 * One write per replica per interval, whatever the number of agents it holds: each agent's
 * last_seen_at becomes when this replica last heard it (an agent silent for up to three
 * intervals is still connected, but its silence already counts).
 */
export async function touchAgents(db: Kysely<Database>, agents: { name: string; silentMs: number }[], schedulerId: string): Promise<void> {
  if (agents.length === 0) return;
  const silence = sql.join(agents.map((a) => sql`(${a.name}::text, ${Math.max(0, Math.round(a.silentMs))}::integer)`));
  await sql`
    UPDATE agents SET status = 'online', last_seen_at = greatest(agents.last_seen_at, now() - heard.silent_ms * interval '1 millisecond')
    FROM (VALUES ${silence}) AS heard (name, silent_ms)
    WHERE agents.name = heard.name AND agents.scheduler_id = ${schedulerId}
  `.execute(db);
}
