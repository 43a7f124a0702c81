import { ACTIVE_TASK_STATUSES, type AgentFrame } from '@tapit/protocol';
import type { Kysely, Transaction } from 'kysely';
import type { Database, TaskRow } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { appendLogLines } from '../logs/repository.js';
import { storableText } from '../db/errors.js';
import { stopLines, transition } from '../tasks/lifecycle.js';
import { ownedBy, type TaskOwner } from './ownership.js';

type StatusFrame = Extract<AgentFrame, { type: 'task.status' }>;
type ExitFrame = Extract<AgentFrame, { type: 'task.exited' }>;

/**
 * A time an agent reported, on the scheduler's clock: agents convert their times (they read the
 * scheduler's clock), and what is left of a skew (half a round trip, an agent that never read
 * it) must not put a status change before the one it follows, or in the future.
 */
async function eventTime(trx: Transaction<Database>, taskId: string, reported: string): Promise<Date> {
  const last = await trx.selectFrom('task_events').select((eb) => eb.fn.max('created_at').as('at')).where('task_id', '=', taskId).executeTakeFirst();
  const floor = last?.at ? new Date(last.at).getTime() : -Infinity;
  return new Date(Math.min(Math.max(Date.parse(reported), floor), Date.now()));
}

/**
 * What an agent reports about a task, applied only while the task is still placed on that
 * agent itself (ownership.ts): a report from an agent the task was taken from (lost, re-placed),
 * or from a newcomer that took over the name, changes nothing.
 */
export async function applyStatusReport(db: Kysely<Database>, owner: TaskOwner, frame: StatusFrame): Promise<TaskRow | undefined> {
  return inTransaction(db, async (trx) => {
    const task = await trx
      .selectFrom('tasks')
      .selectAll()
      .where('id', '=', frame.taskId)
      .where(ownedBy(owner))
      .forUpdate()
      .executeTakeFirst();
    if (!task || task.status === 'STOPPED') return undefined;
    if (frame.imageDigest && frame.imageDigest !== task.image_digest) {
      await trx.updateTable('tasks').set({ image_digest: storableText(frame.imageDigest) }).where('id', '=', task.id).execute();
    }
    const at = await eventTime(trx, task.id, frame.at);
    if (frame.status === 'RUNNING' && task.status === 'PENDING') {
      return transition(trx, task.id, { from: ['PENDING'], patch: { status: 'RUNNING', started_at: at }, at });
    }
    if (frame.status === 'STOPPING' && (task.status === 'PENDING' || task.status === 'RUNNING')) {
      return transition(trx, task.id, { from: ['PENDING', 'RUNNING'], patch: { status: 'STOPPING' }, at });
    }
    return undefined;
  });
}

/**
 * The agent's exit report: the task's one final state. A report for a task the scheduler already
 * ended (lost, or timed out past the slack) while it waits for the agent's late report keeps that
 * final state and records what the agent saw: the real exit code and usage, and a [system] line.
 */
export async function applyExitReport(db: Kysely<Database>, owner: TaskOwner, frame: ExitFrame): Promise<TaskRow | undefined> {
  return inTransaction(db, async (trx) => {
    const found = await trx
      .selectFrom('tasks')
      .select(['id', 'status', 'late_report_until', 'created_at'])
      .where('id', '=', frame.taskId)
      .where(ownedBy(owner))
      .forUpdate()
      .executeTakeFirst();
    if (found?.status === 'STOPPED' && found.late_report_until !== null) return recordLateReport(trx, owner.name, frame);
    if (!found || !(ACTIVE_TASK_STATUSES as readonly string[]).includes(found.status)) return undefined;
    const at = await eventTime(trx, frame.taskId, frame.finishedAt);
    const startedAt = frame.startedAt ? new Date(Math.min(Math.max(Date.parse(frame.startedAt), found.created_at.getTime()), at.getTime())) : undefined;
    const stopped = await transition(trx, frame.taskId, {
      from: ACTIVE_TASK_STATUSES,
      at,
      patch: {
        status: 'STOPPED',
        desired_status: 'STOPPED',
        stop_code: frame.stopCode,
        stop_reason: frame.reason === null ? null : storableText(frame.reason),
        exit_code: frame.exitCode,
        started_at: startedAt,
        finished_at: at,
        peak_memory_bytes: frame.usage.peakMemoryBytes,
        cpu_seconds: frame.usage.cpuSeconds,
        disk_bytes: frame.usage.diskBytes,
      },
    });
    if (stopped) await appendLogLines(trx, stopped.id, stopLines(stopped, at));
    return stopped;
  });
}

async function recordLateReport(trx: Transaction<Database>, agentName: string, frame: ExitFrame): Promise<TaskRow | undefined> {
  const row = await trx
    .updateTable('tasks')
    .set({
      exit_code: frame.exitCode,
      peak_memory_bytes: frame.usage.peakMemoryBytes,
      cpu_seconds: frame.usage.cpuSeconds,
      disk_bytes: frame.usage.diskBytes,
      late_report_until: null,
    })
    .where('id', '=', frame.taskId)
    .returningAll()
    .executeTakeFirst();
  if (!row) return undefined;
  const exit = frame.exitCode === null ? 'no exit code' : `exit code ${frame.exitCode}`;
  const why = `${frame.stopCode}${frame.reason ? ` - ${storableText(frame.reason)}` : ''}`;
  const text = `Late report from agent ${agentName}: ${exit} (${why}); the container ended at ${frame.finishedAt}`;
  await appendLogLines(trx, row.id, [{ seq: null, stream: 'system', text, at: new Date() }]);
  return row;
}
