import type { UpdateAgentRequest } from '@tapit/protocol';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { DomainError, notFound } from '../domain/domain-error.js';
import { stopLines, transition } from '../tasks/lifecycle.js';
import { ON_AGENT_STATUSES } from './repository.js';

/** An admin's capacity and drain for an agent; its session picks them up (session-watch.ts). */
export async function updateAgent(db: Kysely<Database>, name: string, change: UpdateAgentRequest): Promise<void> {
  const result = await db
    .updateTable('agents')
    .set({
      ...(change.cpu !== undefined ? { capacity_cpu_set: change.cpu } : {}),
      ...(change.memoryGb !== undefined ? { capacity_memory_gb_set: change.memoryGb } : {}),
      ...(change.drained !== undefined ? { drained: change.drained } : {}),
    })
    .where('name', '=', name)
    .executeTakeFirst();
  if (result.numUpdatedRows === 0n) throw notFound(`agent "${name}"`, 'name');
}

/**
 * Revokes an agent's credential: it is disconnected (by every replica's session watch) and can
 * never connect again, and its name stays taken until it is deleted. Its tasks are AGENT_LOST at
 * once: nothing it reports is believed any more. Returns their ids.
 */
export async function revokeAgent(db: Kysely<Database>, name: string, by: string): Promise<string[]> {
  return inTransaction(db, async (trx) => {
    const result = await trx.updateTable('agents').set({ revoked_at: new Date() }).where('name', '=', name).where('revoked_at', 'is', null).executeTakeFirst();
    if (result.numUpdatedRows === 0n) {
      const exists = await trx.selectFrom('agents').select('name').where('name', '=', name).executeTakeFirst();
      if (!exists) throw notFound(`agent "${name}"`, 'name');
      throw new DomainError('CONFLICT', `agent "${name}" is already revoked`, 'name');
    }
    return endTasksOf(trx, name, `agent ${name} was revoked by ${by}`);
  });
}

/**
 * Forgets an agent that is not connected (revoke a connected one first), freeing its name for a
 * new agent. Tasks still placed on it are AGENT_LOST. Returns their ids.
 */
export async function deleteAgent(db: Kysely<Database>, name: string, by: string): Promise<string[]> {
  return inTransaction(db, async (trx) => {
    const row = await trx.selectFrom('agents').select(['status', 'revoked_at']).where('name', '=', name).forUpdate().executeTakeFirst();
    if (!row) throw notFound(`agent "${name}"`, 'name');
    if (row.status === 'online' && row.revoked_at === null) {
      throw new DomainError('CONFLICT', `agent "${name}" is connected: stop it, or revoke it first (tapit revoke agent ${name})`, 'name');
    }
    const ended = await endTasksOf(trx, name, `agent ${name} was deleted by ${by}`);
    await trx.deleteFrom('agents').where('name', '=', name).execute();
    return ended;
  });
}

async function endTasksOf(trx: Transaction<Database>, name: string, reason: string): Promise<string[]> {
  const tasks = await trx.selectFrom('tasks').select('id').where('agent_name', '=', name).where('status', 'in', [...ON_AGENT_STATUSES]).execute();
  const ended: string[] = [];
  for (const { id } of tasks) {
    const row = await transition(trx, id, {
      from: [...ON_AGENT_STATUSES],
      patch: { status: 'STOPPED', desired_status: 'STOPPED', stop_code: 'AGENT_LOST', stop_reason: reason, finished_at: new Date() },
      linesAfter: stopLines,
    });
    if (row) ended.push(id);
  }
  return ended;
}
