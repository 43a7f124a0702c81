import { satisfies } from '@tapit/protocol';
import { sql, type Kysely } from 'kysely';
import type { Database, TaskRow } from '../db/schema.js';
import { transition } from '../tasks/lifecycle.js';
import type { SecretBox } from '../secrets/secret-box.js';
import { isUnsendable, taskAssignments, type TaskAssignFrame, type UnsendableTask } from '../tasks/task-assignment.js';
import type { AgentSession } from './agent-session.js';

/** Tasks claimed at most per pass; a full batch means there may be more. */
export const PLACEMENT_BATCH = 200;

/**
 * Places waiting tasks onto agents connected to this replica. Tasks are claimed with
 * FOR UPDATE SKIP LOCKED and moved out of PROVISIONING in the same transaction, so replicas
 * sharing one Postgres never assign a task twice; a task no local agent has room for, or whose
 * required labels (constraints) no local agent carries, is left for the next pass (or another
 * replica's agents). Returns the ids placed.
 */
export async function placeWaitingTasks(db: Kysely<Database>, secrets: SecretBox, sessions: Iterable<AgentSession>): Promise<string[]> {
  // An agent that is not ready (its engine is away) offers no capacity; a drained one takes no new
  // task, nor one at its maxTasks.
  const agents = [...sessions].filter((a) => a.ready && !a.drained && a.hasRoomForATask());
  if (agents.length === 0) return [];
  const assigned: { session: AgentSession; row: TaskRow }[] = [];
  let frames: (TaskAssignFrame | UnsendableTask)[] = [];
  // Its own transaction, never a caller's: the assignments go out only once the claim committed.
  await db.transaction().execute(async (trx) => {
    // Only tasks some local agent has room and the required labels for now, so tasks too big
    // for every agent, or requiring labels none carries, cannot fill the batch and starve the
    // ones behind them.
    const waiting = await trx
      .selectFrom('tasks')
      .select(['id', 'cpu', 'memory_gb', 'constraints'])
      .where('status', '=', 'PROVISIONING')
      .where((eb) => eb.or(placeable(agents).map((a) => eb.and([eb('cpu', '<=', a.cpu), eb('memory_gb', '<=', a.memoryGb), sql<boolean>`constraints <@ ${a.labels}::jsonb`]))))
      .orderBy('created_at')
      .limit(PLACEMENT_BATCH)
      .forUpdate()
      .skipLocked()
      .execute();
    for (const task of waiting) {
      const need = { cpu: task.cpu, memoryGb: task.memory_gb };
      // Spread: the agent with the most free memory that fits and carries the labels.
      const session = agents.filter((a) => a.fits(need) && satisfies(a.labels, task.constraints)).sort((a, b) => b.freeMemoryGb() - a.freeMemoryGb())[0];
      if (!session) continue;
      const row = await transition(trx, task.id, {
        from: ['PROVISIONING'],
        patch: { status: 'PENDING', agent_name: session.name, attempt: (eb) => eb('attempt', '+', 1), assigned_at: new Date(), accepted_at: null },
      });
      if (!row) continue;
      session.hold(row.id, need);
      assigned.push({ session, row });
    }
    frames = await taskAssignments({ db: trx, secrets }, assigned.map(({ row }) => row));
    // A task whose secrets do not open (a key this scheduler lacks) fails to start, saying which.
    for (const frame of frames.filter(isUnsendable)) {
      await transition(trx, frame.taskId, {
        from: ['PENDING'],
        patch: { status: 'STOPPED', desired_status: 'STOPPED', stop_code: 'FAILED_TO_START', stop_reason: frame.failure, finished_at: new Date() },
        message: `Failed to start: ${frame.failure}`,
      });
    }
  }).catch((error) => {
    // The claim rolled back: give the capacity back and let the next pass retry.
    for (const { session, row } of assigned.splice(0)) session.release(row.id);
    throw error;
  });
  assigned.forEach(({ session, row }, i) => {
    const frame = frames[i]!;
    if (isUnsendable(frame)) session.release(row.id);
    else session.send(frame);
  });
  return assigned.map(({ row }) => row.id);
}

/** Per local agent, the room it has now and its labels as JSON; identical ones once. */
function placeable(agents: AgentSession[]): { cpu: number; memoryGb: number; labels: string }[] {
  const seen = new Map<string, { cpu: number; memoryGb: number; labels: string }>();
  for (const agent of agents) {
    const room = {
      cpu: agent.capacity.cpu - agent.allocated.cpu + 1e-9,
      memoryGb: agent.freeMemoryGb() + 1e-9,
      labels: JSON.stringify(agent.labels),
    };
    seen.set(`${room.cpu}|${room.memoryGb}|${room.labels}`, room);
  }
  return [...seen.values()];
}
