import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { isUnsendable, taskAssignments, type AssignmentSource } from '../tasks/task-assignment.js';
import type { AgentSession } from './agent-session.js';

/** How long an assignment may go unanswered before it is sent again. */
const UNANSWERED_SECONDS = 20;

/**
 * Sends `task.assign` again for PENDING tasks of agents connected here that never answered it:
 * the frame went to a connection that died (a half-open link, or the agent reconnected to
 * another replica while this one still placed on its old session). An agent takes a repeated
 * assignment as the same task, so this never starts a second container.
 */
export async function resendUnansweredAssignments({ db, secrets }: AssignmentSource, sessions: Map<string, AgentSession>): Promise<void> {
  if (sessions.size === 0) return;
  const rows = await db
    .updateTable('tasks')
    .set({ assigned_at: new Date() })
    .where('agent_name', 'in', [...sessions.keys()])
    .where('status', '=', 'PENDING')
    .where('accepted_at', 'is', null)
    .where(sql<boolean>`assigned_at < now() - ${UNANSWERED_SECONDS} * interval '1 second'`)
    .returningAll()
    .execute();
  const frames = await taskAssignments({ db, secrets }, rows);
  rows.forEach((row, i) => {
    const frame = frames[i]!;
    // Placement sent it once, so it opened then; a key gone since: the agent may hold the first.
    if (!isUnsendable(frame)) sessions.get(row.agent_name ?? '')?.send(frame);
  });
}
