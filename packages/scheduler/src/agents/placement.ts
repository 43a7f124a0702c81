import { satisfies } from '@tapit/protocol';
import { sql, type Kysely } from 'kysely';
import type { Database, TaskRow } from '../db/schema.js';
import { assignTasks, transition, type AssignedTask } from '../tasks/lifecycle.js';
import type { SecretBox } from '../secrets/secret-box.js';
import { isUnsendable, taskAssignments, type TaskAssignFrame, type UnsendableTask } from '../tasks/task-assignment.js';
import type { AgentSession } from './agent-session.js';

/**
 * Tasks claimed at most per batch; a full batch means there may be more. A batch costs about ten
 * statements whatever its size, so a long queue goes faster in big ones (bench/scale, 1,000
 * agents, 20,200 tasks: 200 a batch 4,196-5,027 tasks/s, 400 5,184-5,396, 800 5,499-6,088, 1,000
 * 5,327).
 */
export const PLACEMENT_BATCH = 800;

/** The files a batch carries at most (their content; a task's own up to MAX_TASK_FILES_BYTES always goes). */
export const PLACEMENT_FILE_BYTES = 32 * 1024 * 1024;

/**
 * Places waiting tasks onto agents connected to this replica. Tasks are claimed with
 * FOR UPDATE SKIP LOCKED and moved out of PROVISIONING in the same transaction, so replicas
 * sharing one Postgres never assign a task twice; a task no local agent has room for, or whose
 * required labels (constraints) no local agent carries, is left for the next pass (or another
 * replica's agents). Returns the ids placed, and whether more may be waiting with room for
 * them: a whole batch was placed, or one cut short by its files.
 */
export async function placeWaitingTasks(db: Kysely<Database>, secrets: SecretBox, sessions: Iterable<AgentSession>): Promise<{ ids: string[]; more: boolean }> {
  // An agent that is not ready (its engine is away) offers no capacity; a drained one takes no new
  // task, nor one at its maxTasks.
  const agents = [...sessions].filter((a) => a.ready && !a.drained && a.hasRoomForATask());
  if (agents.length === 0) return { ids: [], more: false };
  let cutByFiles = false;
  const assigned: { session: AgentSession; row: AssignedTask }[] = [];
  /** Tasks held on an agent's capacity in this pass, placed or not. */
  const chosen: { session: AgentSession; taskId: string }[] = [];
  let frames: (TaskAssignFrame | UnsendableTask)[] = [];
  // Its own transaction, never a caller's: the assignments go out only once the claim committed.
  await db.transaction().execute(async (trx) => {
    // Only tasks some local agent has room and the required labels for now, so tasks too big
    // for every agent, or requiring labels none carries, cannot fill the batch and starve the
    // ones behind them.
    const waiting = await trx
      .selectFrom('tasks')
      .select(['id', 'cpu', 'memory_gb', 'constraints'])
      // Null for a task without files (a file may be empty): their files are not looked for.
      .select((eb) => eb.selectFrom('task_files').select(sql<number | null>`sum(octet_length(content))::integer`.as('bytes')).whereRef('task_files.task_id', '=', 'tasks.id').as('file_bytes'))
      .where('status', '=', 'PROVISIONING')
      .where((eb) => eb.or(placeable(agents).map((a) => eb.and([eb('cpu', '<=', a.cpu), eb('memory_gb', '<=', a.memoryGb), sql<boolean>`constraints <@ ${a.labels}::jsonb`]))))
      .orderBy('created_at')
      .limit(PLACEMENT_BATCH)
      .forUpdate()
      .skipLocked()
      .execute();
    let fileBytes = 0;
    const withFiles = new Set<string>();
    for (const task of waiting) {
      // A batch's files are in memory at once, read, encoded and framed: past a budget the rest
      // wait for the next batch (800 tasks of 2 MiB each would be gigabytes).
      const bytes = Number(task.file_bytes ?? 0);
      if (chosen.length > 0 && fileBytes + bytes > PLACEMENT_FILE_BYTES) {
        cutByFiles = true;
        break;
      }
      fileBytes += bytes;
      if (task.file_bytes !== null) withFiles.add(task.id);
      const need = { cpu: task.cpu, memoryGb: task.memory_gb };
      const session = spreadTarget(agents, need, task.constraints);
      if (!session) continue;
      // Held at once, so the next task of the batch sees what this one takes.
      session.hold(task.id, need);
      chosen.push({ session, taskId: task.id });
    }
    // Rows locked above and still PROVISIONING, so every one is placed; one left out (cannot
    // happen under the lock) gives its capacity back.
    const rows = new Map((await assignTasks(trx, chosen.map((c) => ({ taskId: c.taskId, agentName: c.session.name })))).map((row) => [row.id, row]));
    for (const { session, taskId } of chosen) {
      const row = rows.get(taskId);
      if (row) assigned.push({ session, row });
      else session.release(taskId);
    }
    frames = await taskAssignments({ db: trx, secrets }, assigned.map(({ row }) => row), withFiles);
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
    for (const { session, taskId } of chosen) session.release(taskId);
    assigned.splice(0);
    throw error;
  });
  assigned.forEach(({ session, row }, i) => {
    const frame = frames[i]!;
    if (isUnsendable(frame)) session.release(row.id);
    else session.send(frame);
  });
  return { ids: assigned.map(({ row }) => row.id), more: assigned.length === PLACEMENT_BATCH || cutByFiles };
}

/**
 * Spread: of the agents the task fits on and whose labels it requires, the one with the most free
 * memory (the first such, on a tie). One pass over the agents: a sort per task cost as much as the
 * rest of placement with a thousand agents.
 */
function spreadTarget(agents: AgentSession[], need: { cpu: number; memoryGb: number }, constraints: TaskRow['constraints']): AgentSession | undefined {
  let best: AgentSession | undefined;
  let bestFree = -Infinity;
  for (const agent of agents) {
    const free = agent.freeMemoryGb();
    if (free > bestFree && agent.fits(need) && satisfies(agent.labels, constraints)) {
      best = agent;
      bestFree = free;
    }
  }
  return best;
}

/**
 * The rooms a waiting task must fit one of, as the claim's WHERE: per set of labels, only the
 * rooms no other room of the same labels has at least as much cpu and memory as (a task fits one
 * of those exactly when it fits any agent). A thousand agents with the same labels make a handful
 * of conditions, not a thousand.
 */
function placeable(agents: AgentSession[]): { cpu: number; memoryGb: number; labels: string }[] {
  const byLabels = new Map<string, { cpu: number; memoryGb: number; labels: string }[]>();
  for (const agent of agents) {
    const labels = JSON.stringify(agent.labels);
    const room = { cpu: agent.capacity.cpu - agent.allocated.cpu + 1e-9, memoryGb: agent.freeMemoryGb() + 1e-9, labels };
    const rooms = byLabels.get(labels);
    if (rooms) rooms.push(room);
    else byLabels.set(labels, [room]);
  }
  const frontier: { cpu: number; memoryGb: number; labels: string }[] = [];
  for (const rooms of byLabels.values()) {
    // Most cpu first (most memory first among equals): a room is kept only if it has more memory than every one before it.
    rooms.sort((a, b) => b.cpu - a.cpu || b.memoryGb - a.memoryGb);
    let memory = -Infinity;
    for (const room of rooms) {
      if (room.memoryGb <= memory) continue;
      frontier.push(room);
      memory = room.memoryGb;
    }
  }
  return frontier;
}
