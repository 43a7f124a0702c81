import type { AgentView, Capacity } from '@tapit/protocol';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

/** Statuses of a task placed on an agent, holding its resources (the partial index tasks_agent_active_idx covers them). */
export const ON_AGENT_STATUSES = ['PENDING', 'RUNNING', 'STOPPING'] as const;

/** Agents with what their active tasks hold. */
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
    name: r.name,
    status: r.status as AgentView['status'],
    ready: r.status === 'online' && r.not_ready_reason === null,
    notReadyReason: r.status === 'online' ? r.not_ready_reason : null,
    capacity: { cpu: r.capacity_cpu, memoryGb: r.capacity_memory_gb },
    allocated: { cpu: Number(r.cpu ?? 0), memoryGb: Number(r.memory_gb ?? 0) },
    runningTasks: Number(r.count ?? 0),
    version: r.version,
    lastSeenAt: r.last_seen_at.toISOString(),
    connectedAt: r.connected_at ? r.connected_at.toISOString() : null,
  }));
}

export async function markAgentOnline(
  db: Kysely<Database>,
  agent: { name: string; capacity: Capacity; version: string; schedulerId: string; notReadyReason: string | null },
): Promise<void> {
  const now = new Date();
  const values = {
    status: 'online',
    not_ready_reason: agent.notReadyReason,
    capacity_cpu: agent.capacity.cpu,
    capacity_memory_gb: agent.capacity.memoryGb,
    version: agent.version,
    scheduler_id: agent.schedulerId,
    connected_at: now,
    last_seen_at: now,
  };
  await db
    .insertInto('agents')
    .values({ name: agent.name, ...values })
    .onConflict((oc) => oc.column('name').doUpdateSet(values))
    .execute();
}

/** An agent said it is (not) ready; recorded only while this replica holds it. */
export async function setAgentReadiness(db: Kysely<Database>, name: string, schedulerId: string, notReadyReason: string | null): Promise<void> {
  await db.updateTable('agents').set({ not_ready_reason: notReadyReason }).where('name', '=', name).where('scheduler_id', '=', schedulerId).execute();
}

/** Offline only if still held by this replica: the agent may already be back on another. */
export async function markAgentOffline(db: Kysely<Database>, name: string, schedulerId: string): Promise<void> {
  await db
    .updateTable('agents')
    .set({ status: 'offline', scheduler_id: null, last_seen_at: new Date() })
    .where('name', '=', name)
    .where('scheduler_id', '=', schedulerId)
    .execute();
}

/** One write per replica per interval, whatever the number of agents it holds. */
export async function touchAgents(db: Kysely<Database>, names: string[], schedulerId: string): Promise<void> {
  if (names.length === 0) return;
  await db
    .updateTable('agents')
    .set({ last_seen_at: sql`now()`, status: 'online' })
    .where('name', 'in', names)
    .where('scheduler_id', '=', schedulerId)
    .execute();
}
