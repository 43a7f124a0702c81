import { AgentCloseCode } from '@tapit/protocol';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { AgentSession } from './agent-session.js';

/** How often a replica checks its sessions against the agents table (revocations made elsewhere). */
export const SESSION_CHECK_MS = 1000;

/**
 * Brings this replica's sessions in line with the agents table, which is all replicas share: an
 * agent revoked or deleted (on any replica) is disconnected; one that reconnected to another
 * replica leaves its stale session here; an admin's capacity or drain applies to placement.
 */
export async function reviewSessions(db: Kysely<Database>, sessions: AgentSession[], schedulerId: string, log: (line: string) => void): Promise<void> {
  if (sessions.length === 0) return;
  const rows = await db
    .selectFrom('agents')
    .select(['name', 'scheduler_id', 'revoked_at', 'credential_hash', 'drained', 'capacity_cpu_set', 'capacity_memory_gb_set'])
    .where('name', 'in', sessions.map((s) => s.name))
    .execute();
  const byName = new Map(rows.map((row) => [row.name, row]));
  for (const session of sessions) {
    const row = byName.get(session.name);
    const shutOut = !row ? 'was deleted by an admin' : row.revoked_at !== null ? 'was revoked by an admin' : row.credential_hash !== session.credentialHash ? 'is bound to another credential' : null;
    if (shutOut) {
      log(`agent ${session.name} ${shutOut}: disconnecting it`);
      session.send({ type: 'refused', code: 'UNAUTHORIZED', message: `agent ${session.name} ${shutOut}` });
      session.close(AgentCloseCode.unauthorized, 'UNAUTHORIZED');
      continue;
    }
    if (row!.scheduler_id !== null && row!.scheduler_id !== schedulerId) {
      // Its hello reached another replica since: this connection is the stale one.
      session.close(AgentCloseCode.replaced, 'replaced by a connection to another scheduler replica');
      continue;
    }
    if (row!.scheduler_id === null) {
      // Marked offline by the close of an older connection that raced this one's hello: still here.
      await db.updateTable('agents').set({ status: 'online', scheduler_id: schedulerId }).where('name', '=', session.name).where('scheduler_id', 'is', null).execute();
    }
    session.apply({ drained: row!.drained, capacityCpuSet: row!.capacity_cpu_set, capacityMemoryGbSet: row!.capacity_memory_gb_set });
  }
}
