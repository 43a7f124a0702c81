import type { TaskStatus } from '@tapit/protocol';
import type { Insertable, Kysely, Transaction, UpdateObject } from 'kysely';
import type { Database, TaskRow, TasksTable } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { appendLogLines } from '../logs/repository.js';

/** A new task's row, but its status: every task is born PROVISIONING with desired status RUNNING. */
export type NewTask = Omit<Insertable<TasksTable>, 'status' | 'desired_status'>;

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
 * The birth of a task: its row as PROVISIONING (desired status RUNNING), recorded as every later
 * status change is (`transition`): a task event and the `[system] Task status is PROVISIONING,
 * desired status is RUNNING` line (and `message`, if given, as its own line), in the caller's
 * transaction when given one. Returns the row.
 */
export async function beginTask(db: Kysely<Database>, values: NewTask, options: { message?: string; at?: Date } = {}): Promise<TaskRow> {
  return inTransaction(db, async (trx) => {
    const row = await trx.insertInto('tasks').values({ ...values, status: 'PROVISIONING', desired_status: 'RUNNING' }).returningAll().executeTakeFirstOrThrow();
    await recordStatus(trx, row, options.message, options.at ?? new Date());
    return row;
  });
}

/**
 * The one way a task's status changes: the row, a task event, and the
 * `[system] Task status is X, desired status is Y` log line, in the caller's transaction when
 * given one (else in one of its own). Returns the updated row, or undefined when the guard did
 * not hold.
 */
export async function transition(db: Kysely<Database>, taskId: string, t: Transition): Promise<TaskRow | undefined> {
  return inTransaction(db, async (trx) => {
    let query = trx.updateTable('tasks').set(t.patch).where('id', '=', taskId);
    if (t.from) query = query.where('status', 'in', [...t.from]);
    if (t.attempt !== undefined) query = query.where('attempt', '=', t.attempt);
    const row = await query.returningAll().executeTakeFirst();
    if (!row) return undefined;
    await recordStatus(trx, row, t.message, t.at ?? new Date());
    return row;
  });
}

/** What every status a task takes leaves behind, its first included: the event and the [system] line(s). */
async function recordStatus(trx: Transaction<Database>, row: TaskRow, message: string | undefined, at: Date): Promise<void> {
  await trx
    .insertInto('task_events')
    .values({ task_id: row.id, status: row.status, desired_status: row.desired_status, message: message ?? null, created_at: at })
    .execute();
  const lines = [{ seq: null, stream: 'system' as const, text: `Task status is ${row.status}, desired status is ${row.desired_status}`, at }];
  if (message) lines.push({ seq: null, stream: 'system', text: message, at });
  await appendLogLines(trx, row.id, lines);
}

/** A human line for a stopped task: `Task stopped: EXITED (exit code 3)`. */
export function describeStop(row: Pick<TaskRow, 'stop_code' | 'exit_code' | 'stop_reason' | 'stopped_by'>): string {
  const parts = [`Task stopped: ${row.stop_code}`];
  if (row.exit_code !== null) parts.push(`(exit code ${row.exit_code})`);
  if (row.stopped_by) parts.push(`by ${row.stopped_by}`);
  if (row.stop_reason) parts.push(`- ${row.stop_reason}`);
  return parts.join(' ');
}
