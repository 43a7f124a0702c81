import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { stopLines, transition } from '../tasks/lifecycle.js';
import { lateReportWaitSeconds, lostAfterSeconds } from './cut-off.js';
import { ON_AGENT_STATUSES } from './repository.js';

/**
 * Ends tasks the agents cannot report on: past max_hours plus slack (the agent is gone or
 * stuck) → TIMED_OUT; on an agent silent past the lost bound (cut-off.ts: by then the agent has
 * stopped them itself) → AGENT_LOST, the reason telling the silence as it was. Every replica runs
 * this; the guarded updates make it idempotent. When the agent returns, its welcome tells it to
 * stop and drop these tasks, and its late report (last lines, real exit code) is kept: log
 * followers wait for it for a while (`late_report_until`, cut-off.ts).
 *
 * `listeningSince` is since when this replica could have heard agents (its start, or the end
 * of a database outage): a scheduler that was down, or could not write heartbeats, says
 * nothing about the agents, so none is judged lost before a whole grace period of listening.
 */
export async function applyBackstops(
  db: Kysely<Database>,
  limits: { agentLostGraceSeconds: number; heartbeatIntervalMs: number; deadlineSlackSeconds: number; listeningSince: number },
): Promise<string[]> {
  const { agentLostGraceSeconds, deadlineSlackSeconds, listeningSince } = limits;
  const listenedLongEnough = Date.now() - listeningSince >= agentLostGraceSeconds * 1000;
  const lostAfter = lostAfterSeconds(agentLostGraceSeconds, limits.heartbeatIntervalMs);
  const waitSeconds = lateReportWaitSeconds(agentLostGraceSeconds);
  const overdue = await db
    .selectFrom('tasks')
    .select('id')
    .where('status', 'in', ['RUNNING', 'STOPPING'])
    .where('max_hours', 'is not', null)
    .where(sql<boolean>`started_at + max_hours * interval '1 hour' + ${deadlineSlackSeconds} * interval '1 second' < now()`)
    .execute();
  const lost = listenedLongEnough
    ? await db
        .selectFrom('tasks')
        .innerJoin('agents', 'agents.name', 'tasks.agent_name')
        .select(['tasks.id', 'agents.name as agent'])
        .select(sql<number>`floor(extract(epoch from now() - agents.last_seen_at))::integer`.as('silent_seconds'))
        .where('tasks.status', 'in', [...ON_AGENT_STATUSES])
        .where(sql<boolean>`agents.last_seen_at < now() - ${lostAfter} * interval '1 second'`)
        .execute()
    : [];
  const ended: string[] = [];
  const end = async (id: string, stopCode: 'TIMED_OUT' | 'AGENT_LOST', reason: string) => {
    const row = await inTransaction(db, async (trx) => {
      const stopped = await transition(trx, id, {
        from: [...ON_AGENT_STATUSES],
        patch: {
          status: 'STOPPED',
          desired_status: 'STOPPED',
          stop_code: stopCode,
          stop_reason: reason,
          finished_at: new Date(),
          late_report_until: sql<Date>`now() + ${waitSeconds} * interval '1 second'`,
        },
        linesAfter: (stopped, at) => [
          ...stopLines(stopped, at),
          { seq: null, stream: 'system', text: `Waiting up to ${waitSeconds} s for agent ${stopped.agent_name} to return with the rest of the log and the exit code`, at },
        ],
      });
      return stopped;
    });
    if (row) ended.push(id);
  };
  for (const { id } of overdue) await end(id, 'TIMED_OUT', 'exceeded max_hours and its agent did not stop it');
  for (const { id, silent_seconds } of lost) await end(id, 'AGENT_LOST', `its agent was not heard from for ${silent_seconds} s`);
  return ended;
}
