import { ACTIVE_TASK_STATUSES, type AgentFrame } from '@tapit/protocol';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database, TaskRow } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { appendLogLines } from '../logs/repository.js';
import { storableText } from '../db/errors.js';
import { startTasks, stopLines, transition, type StatusChange } from '../tasks/lifecycle.js';
import { ownedBy, ownedByListed, ownerColumns, type TaskOwner } from './ownership.js';

export type StatusFrame = Extract<AgentFrame, { type: 'task.status' }>;
type ExitFrame = Extract<AgentFrame, { type: 'task.exited' }>;
export type AcceptedFrame = Extract<AgentFrame, { type: 'task.accepted' }>;

/**
 * A time an agent reported, on the scheduler's clock: agents convert their times (they read the
 * scheduler's clock), and what is left of a skew (half a round trip, an agent that never read
 * it) must not put a status change before the one it follows (`last`, the task's latest event),
 * or in the future.
 */
function clampedTime(reported: string, last: Date | null | undefined): Date {
  const floor = last ? new Date(last).getTime() : -Infinity;
  return new Date(Math.min(Math.max(Date.parse(reported), floor), Date.now()));
}

async function eventTime(trx: Transaction<Database>, taskId: string, reported: string): Promise<Date> {
  return clampedTime(reported, (await lastEventTimes(trx, [taskId])).get(taskId));
}

/** Each task's latest event time (read once its row is locked, so no change slips in after). */
async function lastEventTimes(trx: Transaction<Database>, taskIds: string[]): Promise<Map<string, Date>> {
  if (taskIds.length === 0) return new Map();
  const rows = await trx
    .selectFrom('task_events')
    .select(['task_id', (eb) => eb.fn.max('created_at').as('at')])
    .where('task_id', 'in', taskIds)
    .groupBy('task_id')
    .execute();
  return new Map(rows.map((row) => [row.task_id, row.at as Date]));
}

/** A report of an agent: the frame, and the agent that sent it (its name, and since when it is its). */
export interface Report<F> {
  owner: TaskOwner;
  frame: F;
}

/** A task's acceptance as stored: when the task was created, and whether this was its first (an agent accepts a re-sent assignment again). */
export interface Acceptance {
  createdAt: Date;
  first: boolean;
}

/**
 * Agents' `task.accepted` reports, in one statement: each task's `accepted_at` set now, only
 * while the task is placed on the agent that reports it (ownership.ts); undefined for the others.
 */
export async function applyAcceptedReports(db: Kysely<Database>, reports: Report<AcceptedFrame>[]): Promise<(Acceptance | undefined)[]> {
  if (reports.length === 0) return [];
  const values = sql.join(reports.map(({ owner, frame }) => sql`(${frame.taskId}::text, ${ownerColumns(owner)})`));
  // `before` is the row as the statement found it: whether it had been accepted already.
  const { rows } = await sql<{ id: string; agent: string; created_at: Date; first: boolean }>`
    UPDATE tasks SET accepted_at = ${new Date()}
      FROM (VALUES ${values}) AS v (id, agent, since) JOIN tasks AS before ON before.id = v.id
     WHERE tasks.id = v.id AND ${ownedByListed('v')}
    RETURNING tasks.id, v.agent, tasks.created_at, before.accepted_at IS NULL AS first`.execute(db);
  const byReport = new Map(rows.map((row) => [`${row.id} ${row.agent}`, row]));
  return reports.map(({ owner, frame }) => {
    const row = byReport.get(`${frame.taskId} ${owner.name}`);
    return row && { createdAt: new Date(row.created_at), first: row.first };
  });
}

/**
 * What an agent reports about a task, applied only while the task is still placed on that
 * agent itself (ownership.ts): a report from an agent the task was taken from (lost, re-placed),
 * or from a newcomer that took over the name, changes nothing.
 */
export async function applyStatusReport(db: Kysely<Database>, owner: TaskOwner, frame: StatusFrame): Promise<StatusChange | undefined> {
  return (await applyStatusReports(db, [{ owner, frame }]))[0];
}

/**
 * `applyStatusReport` of many reports (of one task each) in one transaction: the rows locked in
 * one statement, the tasks started in one statement per table (lifecycle.ts `startTasks`). Each
 * report's outcome is what it would have been alone: the row it changed, or undefined.
 */
export async function applyStatusReports(db: Kysely<Database>, reports: Report<StatusFrame>[]): Promise<(StatusChange | undefined)[]> {
  if (reports.length === 0) return [];
  return inTransaction(db, async (trx) => {
    const values = sql.join(reports.map(({ owner, frame }, i) => sql`(${i}::integer, ${frame.taskId}::text, ${ownerColumns(owner)})`));
    // Locked in the order of their ids, as every batch locks them: two batches never wait on each other in a circle.
    const { rows: locked } = await sql<Pick<TaskRow, 'id' | 'status' | 'image_digest'> & { report: number }>`
      SELECT tasks.id, tasks.status, tasks.image_digest, v.report FROM tasks JOIN (VALUES ${values}) AS v (report, id, agent, since) ON tasks.id = v.id
       WHERE ${ownedByListed('v')}
       ORDER BY tasks.id
         FOR UPDATE OF tasks`.execute(trx);
    const owned = new Map(locked.filter((task) => task.status !== 'STOPPED').map((task) => [task.report, task]));
    const last = await lastEventTimes(trx, [...owned.values()].map((task) => task.id));
    const digests = reports.flatMap(({ frame }, i) => {
      const task = owned.get(i);
      return task && frame.imageDigest && frame.imageDigest !== task.image_digest ? [sql`(${task.id}::text, ${storableText(frame.imageDigest)}::text)`] : [];
    });
    if (digests.length > 0) {
      await sql`UPDATE tasks SET image_digest = v.digest FROM (VALUES ${sql.join(digests)}) AS v (id, digest) WHERE tasks.id = v.id`.execute(trx);
    }
    const outcomes: (StatusChange | undefined)[] = reports.map(() => undefined);
    const starts: { report: number; taskId: string; at: Date }[] = [];
    for (const [i, { frame }] of reports.entries()) {
      const task = owned.get(i);
      if (!task) continue;
      const at = clampedTime(frame.at, last.get(task.id));
      if (frame.status === 'RUNNING' && task.status === 'PENDING') starts.push({ report: i, taskId: task.id, at });
      else if (frame.status === 'STOPPING' && (task.status === 'PENDING' || task.status === 'RUNNING')) {
        // Rare (a stop the agent began itself): one at a time.
        outcomes[i] = await transition(trx, task.id, { from: ['PENDING', 'RUNNING'], patch: { status: 'STOPPING' }, at });
      }
    }
    const started = new Map((await startTasks(trx, starts)).map((row) => [row.id, row]));
    for (const { report, taskId } of starts) outcomes[report] = started.get(taskId);
    return outcomes;
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
      linesAfter: stopLines,
    });
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
