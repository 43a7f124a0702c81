import type { LogLine, LogStream } from '@tapit/protocol';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { storableText } from '../db/errors.js';
import { inTransaction } from '../db/transaction.js';
import { ownedBy } from '../agents/ownership.js';

export interface NewLogLine {
  seq: number | null;
  stream: LogStream;
  text: string;
  at: Date;
}

/**
 * Appends lines to a task's log. Positions come from the task row's counter, which the UPDATE
 * locks until commit: writers of one task take turns, so positions commit in order and a
 * follower reading "after N" can never skip a line that commits later.
 */
export async function appendLogLines(db: Kysely<Database>, taskId: string, lines: NewLogLine[]): Promise<void> {
  await appendLogLinesOfTasks(db, [{ taskId, lines }]);
}

/**
 * `appendLogLines` for several tasks (new tasks' first lines, a firing batch's): one counter
 * update per distinct number of lines and one insert for them all, however many tasks.
 */
export async function appendLogLinesOfTasks(db: Kysely<Database>, logs: { taskId: string; lines: NewLogLine[] }[]): Promise<void> {
  const nonEmpty = logs.filter((log) => log.lines.length > 0);
  if (nonEmpty.length === 0) return;
  await inTransaction(db, async (trx) => {
    const counts = new Map<string, number>();
    for (const n of new Set(nonEmpty.map((log) => log.lines.length))) {
      const ids = nonEmpty.filter((log) => log.lines.length === n).map((log) => log.taskId);
      const updated = await trx
        .updateTable('tasks')
        .set((eb) => ({ log_count: eb('log_count', '+', n) }))
        .where('id', 'in', ids)
        .returning(['id', 'log_count'])
        .execute();
      if (updated.length !== ids.length) throw new Error(`appending log lines: ${ids.length - updated.length} of the tasks do not exist`);
      for (const row of updated) counts.set(row.id, row.log_count);
    }
    await trx
      .insertInto('task_log_lines')
      .values(
        nonEmpty.flatMap(({ taskId, lines }) => {
          const first = counts.get(taskId)! - lines.length + 1;
          return lines.map((line, i) => ({
            task_id: taskId,
            position: first + i,
            seq: line.seq,
            stream: line.stream,
            // Program output may hold NUL bytes; refusing the chunk would stall the agent's log forever.
            text: storableText(line.text),
            logged_at: line.at,
          }));
        }),
      )
      .execute();
  });
}

/**
 * Stores a chunk of agent lines starting at `seq`, from the agent the task is placed on only: lines already stored (a re-send after a
 * reconnect) are dropped, and a chunk that would leave a gap is refused, so the answer — the
 * highest contiguous seq stored — tells the agent exactly where to resume.
 */
export async function storeAgentLog(
  db: Kysely<Database>,
  agentName: string,
  taskId: string,
  seq: number,
  lines: Omit<NewLogLine, 'seq'>[],
  /** Tasks placed on the name before then were an earlier agent's (agents.bound_at). */
  placedSince: Date | null = null,
): Promise<number | undefined> {
  return inTransaction(db, async (trx) => {
    const task = await trx
      .selectFrom('tasks')
      .select('last_agent_seq')
      .where('id', '=', taskId)
      .where(ownedBy({ name: agentName, since: placedSince }))
      .forUpdate()
      .executeTakeFirst();
    if (!task) return undefined;
    const stored = task.last_agent_seq;
    const skip = stored + 1 - seq;
    if (skip < 0) return stored; // a gap: wait for the missing lines
    const fresh = lines.slice(skip).map((line, i) => ({ ...line, seq: stored + 1 + i }));
    if (fresh.length === 0) return stored;
    await appendLogLines(trx, taskId, fresh);
    const last = stored + fresh.length;
    await trx.updateTable('tasks').set({ last_agent_seq: last }).where('id', '=', taskId).execute();
    return last;
  });
}

/** Lines after position `after`, oldest first; with `fromEnd`, the last `limit` of them. */
export async function readLogLines(
  db: Kysely<Database>,
  taskId: string,
  after: number,
  limit: number,
  fromEnd = false,
): Promise<LogLine[]> {
  const rows = await db
    .selectFrom('task_log_lines')
    .select(['position', 'stream', 'text', 'logged_at'])
    .where('task_id', '=', taskId)
    .where('position', '>', after)
    .orderBy('position', fromEnd ? 'desc' : 'asc')
    .limit(limit)
    .execute();
  if (fromEnd) rows.reverse();
  return rows.map((r) => ({
    position: r.position,
    stream: r.stream as LogStream,
    text: r.text,
    at: r.logged_at.toISOString(),
  }));
}
