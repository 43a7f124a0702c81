import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { DomainError } from '../domain/domain-error.js';
import { findAgentHolder } from './replica-directory.js';

/** How this replica reaches an agent: its own connection, or relayed by the replica holding it. */
export type AgentRoute = { here: true } | { here: false; schedulerId: string; url: string };

/**
 * Where `agent` (of `taskId`, for messages) is reached from this replica. Throws CONFLICT when no
 * replica holds its connection, or the one that does has no address recorded.
 */
export async function routeToAgent(
  deps: { db: Kysely<Database>; schedulerId: string; connectedHere: (agent: string) => boolean },
  agent: string,
  taskId: string,
): Promise<AgentRoute> {
  if (deps.connectedHere(agent)) return { here: true };
  const holder = await findAgentHolder(deps.db, agent);
  // A row naming this replica while its gateway holds no session is a link that just dropped.
  if (!holder || holder.schedulerId === deps.schedulerId) throw new DomainError('CONFLICT', `agent ${agent} of task ${taskId} is not connected to any scheduler replica`);
  if (!holder.url) throw new DomainError('CONFLICT', `agent ${agent} of task ${taskId} is connected to scheduler replica ${holder.schedulerId}, which has no address recorded: restart it with this version (it records TAPIT_ADVERTISE_URL at start)`);
  return { here: false, schedulerId: holder.schedulerId, url: holder.url };
}
