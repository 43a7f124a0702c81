import { sql, type ExpressionBuilder } from 'kysely';
import type { Database } from '../db/schema.js';

/** An agent as the owner of tasks: its name, and since when that name is its own (agents.bound_at). */
export interface TaskOwner {
  name: string;
  /** Tasks placed on the name before then were an earlier agent's of the same name; null: all are its. */
  since: Date | null;
}

/**
 * Tasks placed on this agent itself: on its name, and not before its credential was bound, so an
 * agent that took over the name of a deleted or long-silent one learns nothing of that one's tasks.
 */
export function ownedBy(owner: TaskOwner) {
  return (eb: ExpressionBuilder<Database, 'tasks'>) =>
    owner.since === null
      ? eb('tasks.agent_name', '=', owner.name)
      : eb.and([eb('tasks.agent_name', '=', owner.name), eb(sql<Date>`coalesce(tasks.assigned_at, tasks.created_at)`, '>=', owner.since)]);
}

/** An owner as columns of a VALUES row (`agent`, `since`), for reports of many agents applied together. */
export function ownerColumns(owner: TaskOwner) {
  return sql`${owner.name}::text, ${owner.since}::timestamptz`;
}

/** `ownedBy`, for owners listed in the VALUES list `alias` (its columns `agent` and `since`, as `ownerColumns` gives them). */
export function ownedByListed(alias: string) {
  const agent = sql.ref(`${alias}.agent`);
  const since = sql.ref(`${alias}.since`);
  return sql<boolean>`(tasks.agent_name = ${agent} AND (${since} IS NULL OR coalesce(tasks.assigned_at, tasks.created_at) >= ${since}))`;
}
