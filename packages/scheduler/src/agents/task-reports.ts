import { ACTIVE_TASK_STATUSES, type AgentFrame } from '@tapit/protocol';
import type { Kysely } from 'kysely';
import type { Database, TaskRow } from '../db/schema.js';
import { appendLogLines } from '../logs/repository.js';
import { storableText } from '../db/errors.js';
import { describeStop, transition } from '../tasks/lifecycle.js';

type StatusFrame = Extract<AgentFrame, { type: 'task.status' }>;
type ExitFrame = Extract<AgentFrame, { type: 'task.exited' }>;

/**
 * What an agent reports about a task, applied only while the task is still placed on that
 * agent: a report from an agent the task was taken from (lost, re-placed) changes nothing.
 */
export async function applyStatusReport(db: Kysely<Database>, agentName: string, frame: StatusFrame): Promise<TaskRow | undefined> {
  return db.transaction().execute(async (trx) => {
    const task = await trx
      .selectFrom('tasks')
      .selectAll()
      .where('id', '=', frame.taskId)
      .where('agent_name', '=', agentName)
      .forUpdate()
      .executeTakeFirst();
    if (!task || task.status === 'STOPPED') return undefined;
    if (frame.imageDigest && frame.imageDigest !== task.image_digest) {
      await trx.updateTable('tasks').set({ image_digest: storableText(frame.imageDigest) }).where('id', '=', task.id).execute();
    }
    const at = new Date(frame.at);
    if (frame.status === 'RUNNING' && task.status === 'PENDING') {
      return transition(trx, task.id, { from: ['PENDING'], patch: { status: 'RUNNING', started_at: at }, at });
    }
    if (frame.status === 'STOPPING' && (task.status === 'PENDING' || task.status === 'RUNNING')) {
      return transition(trx, task.id, { from: ['PENDING', 'RUNNING'], patch: { status: 'STOPPING' }, at });
    }
    return undefined;
  });
}

export async function applyExitReport(db: Kysely<Database>, agentName: string, frame: ExitFrame): Promise<TaskRow | undefined> {
  return db.transaction().execute(async (trx) => {
    const at = new Date(frame.finishedAt);
    const stopped = await trx
      .selectFrom('tasks')
      .select('id')
      .where('id', '=', frame.taskId)
      .where('agent_name', '=', agentName)
      .where('status', 'in', [...ACTIVE_TASK_STATUSES])
      .forUpdate()
      .executeTakeFirst()
      .then((found) =>
        found
          ? transition(trx, frame.taskId, {
              from: ACTIVE_TASK_STATUSES,
              at,
              patch: {
                status: 'STOPPED',
                desired_status: 'STOPPED',
                stop_code: frame.stopCode,
                stop_reason: frame.reason === null ? null : storableText(frame.reason),
                exit_code: frame.exitCode,
                started_at: frame.startedAt ? new Date(frame.startedAt) : undefined,
                finished_at: at,
                peak_memory_bytes: frame.usage.peakMemoryBytes,
                cpu_seconds: frame.usage.cpuSeconds,
                disk_bytes: frame.usage.diskBytes,
              },
            })
          : undefined,
      );
    if (stopped) await appendLogLines(trx, stopped.id, [{ seq: null, stream: 'system', text: describeStop(stopped), at }]);
    return stopped;
  });
}
