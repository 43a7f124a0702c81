import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

/** Writes where this replica is reached (at each start: the address may have changed). */
export async function advertiseReplica(db: Kysely<Database>, id: string, url: string): Promise<void> {
  await db
    .insertInto('scheduler_replicas')
    .values({ id, advertise_url: url })
    .onConflict((oc) => oc.column('id').doUpdateSet({ advertise_url: url, started_at: new Date() }))
    .execute();
}

/** The replica holding `agent`'s connection and its address (null if it advertises none); undefined if none holds it. */
export async function findAgentHolder(db: Kysely<Database>, agent: string): Promise<{ schedulerId: string; url: string | null } | undefined> {
  const row = await db
    .selectFrom('agents')
    .leftJoin('scheduler_replicas', 'scheduler_replicas.id', 'agents.scheduler_id')
    .select(['agents.scheduler_id', 'scheduler_replicas.advertise_url'])
    .where('agents.name', '=', agent)
    .where('agents.status', '=', 'online')
    .executeTakeFirst();
  if (!row?.scheduler_id) return undefined;
  return { schedulerId: row.scheduler_id, url: row.advertise_url ?? null };
}
