import type { TaskStatus } from '@tapit/protocol';
import type { Transaction, UpdateObject } from 'kysely';
import type { Database, TaskRow } from '../db/schema.js';
import { appendLogLines } from '../logs/repository.js';

export interface Transition {
  /** The change, which must set `status` or `desired_status`. */
  patch: UpdateObject<Database, 'tasks'>;
  /** Apply only while the task is in one of these statuses (guards against races). */
  from?: readonly TaskStatus[];
  /** Apply only for this placement attempt (reports from a stale attempt are ignored). */
  attempt?: number;
  /** Extra detail kept with the event (and shown as its own [system] line). */
  message?: string;
  at?: Date;
}

/**
 * The one way a task's status changes: the row, a task event, and the
 * `[system] Task status is X, desired status is Y` log line, in the caller's transaction.
 * Returns the updated row, or undefined when the guard did not hold.
 */
export async function transition(trx: Transaction<Database>, taskId: string, t: Transition): Promise<TaskRow | undefined> {
  let query = trx.updateTable('tasks').set(t.patch).where('id', '=', taskId);
  if (t.from) query = query.where('status', 'in', [...t.from]);
  if (t.attempt !== undefined) query = query.where('attempt', '=', t.attempt);
  const row = await query.returningAll().executeTakeFirst();
  if (!row) return undefined;
  const at = t.at ?? new Date();
  await trx
    .insertInto('task_events')
    .values({ task_id: taskId, status: row.status, desired_status: row.desired_status, message: t.message ?? null, created_at: at })
    .execute();
  const lines = [{ seq: null, stream: 'system' as const, text: `Task status is ${row.status}, desired status is ${row.desired_status}`, at }];
  if (t.message) lines.push({ seq: null, stream: 'system', text: t.message, at });
  await appendLogLines(trx, taskId, lines);
  return row;
}

/** A human line for a stopped task: `Task stopped: EXITED (exit code 3)`. */
export function describeStop(row: Pick<TaskRow, 'stop_code' | 'exit_code' | 'stop_reason' | 'stopped_by'>): string {
  const parts = [`Task stopped: ${row.stop_code}`];
  if (row.exit_code !== null) parts.push(`(exit code ${row.exit_code})`);
  if (row.stopped_by) parts.push(`by ${row.stopped_by}`);
  if (row.stop_reason) parts.push(`- ${row.stop_reason}`);
  return parts.join(' ');
}
