import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { transition } from '../tasks/lifecycle.js';
import type { AgentSession } from './agent-session.js';
import { ON_AGENT_STATUSES } from './repository.js';

/** How long to wait before sending a stop again (the agent may have missed it). */
const RESEND_AFTER_SECONDS = 30;
/** SIGTERM, then SIGKILL after this long. */
export const STOP_GRACE_SECONDS = 10;

/**
 * Sends `task.stop` for tasks whose desired status is STOPPED, and for tasks past their
 * max_hours, to the agents connected here; marks them STOPPING. Returns the ids stopped.
 */
export async function sendStops(db: Kysely<Database>, sessions: Map<string, AgentSession>): Promise<string[]> {
  if (sessions.size === 0) return [];
  const due = await db
    .selectFrom('tasks')
    .select(['id', 'agent_name', 'max_hours', 'stopped_by', 'stop_reason'])
    .select(sql<boolean>`coalesce(started_at + max_hours * interval '1 hour' < now(), false)`.as('past_deadline'))
    .where('agent_name', 'in', [...sessions.keys()])
    .where('status', 'in', [...ON_AGENT_STATUSES])
    .where((eb) =>
      eb.or([
        eb('desired_status', '=', 'STOPPED'),
        eb.and([eb('max_hours', 'is not', null), sql<boolean>`started_at + max_hours * interval '1 hour' < now()`]),
      ]),
    )
    .where((eb) => eb.or([eb('stop_sent_at', 'is', null), sql<boolean>`stop_sent_at < now() - ${RESEND_AFTER_SECONDS} * interval '1 second'`]))
    .execute();
  const sent: string[] = [];
  for (const task of due) {
    const session = sessions.get(task.agent_name ?? '');
    if (!session) continue;
    // A user's stop before the deadline stays a user's stop, also when it is sent again.
    const timedOut = task.past_deadline && task.stopped_by === null;
    // Its own transaction, committed before the frame goes out (never a caller's).
    await db.transaction().execute(async (trx) => {
      await trx.updateTable('tasks').set({ stop_sent_at: new Date() }).where('id', '=', task.id).execute();
      await transition(trx, task.id, {
        from: ['PENDING', 'RUNNING'],
        patch: { status: 'STOPPING', desired_status: 'STOPPED' },
        message: timedOut ? `Task exceeded max_hours=${task.max_hours}: stopping it` : undefined,
      });
    });
    session.send({
      type: 'task.stop',
      taskId: task.id,
      stopCode: timedOut ? 'TIMED_OUT' : 'USER_STOPPED',
      // The stop's own reason when it has one (a schedule's concurrency=replace names the run replacing it).
      reason: timedOut ? `exceeded max_hours=${task.max_hours}` : (task.stop_reason ?? `stopped by ${task.stopped_by ?? 'a user'}`),
      graceSeconds: STOP_GRACE_SECONDS,
    });
    sent.push(task.id);
  }
  return sent;
}
