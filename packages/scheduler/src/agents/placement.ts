import type { Kysely } from 'kysely';
import type { Database, TaskRow } from '../db/schema.js';
import { transition } from '../tasks/lifecycle.js';
import { toTaskSpec } from '../tasks/task-spec.js';
import type { AgentSession } from './agent-session.js';

const BATCH = 200;

/**
 * Places waiting tasks onto agents connected to this replica. Tasks are claimed with
 * FOR UPDATE SKIP LOCKED and moved out of PROVISIONING in the same transaction, so replicas
 * sharing one Postgres never assign a task twice; a task no local agent has room for is left
 * for the next pass (or another replica's agents). Returns the ids placed.
 */
export async function placeWaitingTasks(db: Kysely<Database>, sessions: Iterable<AgentSession>): Promise<string[]> {
  // An agent that is not ready (its engine is away) offers no capacity.
  const agents = [...sessions].filter((a) => a.ready);
  if (agents.length === 0) return [];
  const assigned: { session: AgentSession; row: TaskRow }[] = [];
  await db.transaction().execute(async (trx) => {
    // Only tasks some local agent has room for now, so tasks too big for every agent cannot
    // fill the batch and starve the ones behind them.
    const roomCpu = Math.max(...agents.map((a) => a.capacity.cpu - a.allocated.cpu)) + 1e-9;
    const roomMemory = Math.max(...agents.map((a) => a.freeMemoryGb())) + 1e-9;
    const waiting = await trx
      .selectFrom('tasks')
      .select(['id', 'cpu', 'memory_gb'])
      .where('status', '=', 'PROVISIONING')
      .where('cpu', '<=', roomCpu)
      .where('memory_gb', '<=', roomMemory)
      .orderBy('created_at')
      .limit(BATCH)
      .forUpdate()
      .skipLocked()
      .execute();
    for (const task of waiting) {
      const need = { cpu: task.cpu, memoryGb: task.memory_gb };
      // Spread: the agent with the most free memory that fits.
      const session = agents.filter((a) => a.fits(need)).sort((a, b) => b.freeMemoryGb() - a.freeMemoryGb())[0];
      if (!session) continue;
      const row = await transition(trx, task.id, {
        from: ['PROVISIONING'],
        patch: { status: 'PENDING', agent_name: session.name, attempt: (eb) => eb('attempt', '+', 1), assigned_at: new Date(), accepted_at: null },
      });
      if (!row) continue;
      session.hold(row.id, need);
      assigned.push({ session, row });
    }
  }).catch((error) => {
    // The claim rolled back: give the capacity back and let the next pass retry.
    for (const { session, row } of assigned.splice(0)) session.release(row.id);
    throw error;
  });
  for (const { session, row } of assigned) session.send({ type: 'task.assign', task: toTaskSpec(row) });
  return assigned.map(({ row }) => row.id);
}
