import { AgentCloseCode, type AgentFrame } from '@tapit/protocol';
import type { Kysely } from 'kysely';
import { hashToken } from '../auth/tokens.js';
import { isUniqueViolation, storableText } from '../db/errors.js';
import type { AgentRow, Database } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { recordAudit } from '../audit/record.js';
import type { AgentAuth } from './agent-auth.js';
import type { AgentSettings } from './agent-session.js';
import { isJoinTokenSecret, useJoinToken } from './join-tokens.js';
import { markAgentOnline, ON_AGENT_STATUSES } from './repository.js';

type Hello = Extract<AgentFrame, { type: 'hello' }>;

export interface AdmissionContext {
  schedulerId: string;
  heartbeatIntervalMs: number;
  agentLostGraceSeconds: number;
  /** Whether this replica holds a live session under the name. */
  connectedHere: boolean;
  /** Why the agent takes no work now (from its hello's readiness); null when ready. */
  notReadyReason: string | null;
  /**
   * Whether this replica has been up for a whole lost grace: before that, an agent's old
   * last_seen_at says nothing (the scheduler may have been down), so no name is re-bound.
   */
  listenedLongEnough: boolean;
  /** The scheduler's TAPIT_AGENT_JOIN_TOKEN, which no credential may equal. */
  environmentJoinToken: string | undefined;
  /** The address the agent connected from, for the audit trail. */
  source?: string | null;
}

export type Admission =
  | { admitted: true; since: Date | null; credentialHash: string | null; settings: AgentSettings; bound: 'kept' | 'new' | 'rebound'; joinedWith: string | null }
  | { admitted: false; code: 'NAME_IN_USE' | 'UNAUTHORIZED'; message: string; closeCode: number };

class Refusal extends Error {
  constructor(
    readonly code: 'NAME_IN_USE' | 'UNAUTHORIZED',
    message: string,
  ) {
    super(message);
  }
}

const refusal = (error: Refusal): Admission => ({
  admitted: false,
  code: error.code,
  message: error.message,
  closeCode: error.code === 'NAME_IN_USE' ? AgentCloseCode.nameInUse : AgentCloseCode.unauthorized,
});

/**
 * Decides whether a hello may take its name, and records it online. An agent's name is bound to
 * its credential: its own credential always gets it back (and replaces a stale session); a join
 * token registers a new credential only for a name nobody holds — new, from before credentials
 * existed and not connected, or deleted by an admin, or silent past the lost grace with no task
 * left on it (so its tasks are already AGENT_LOST and a newcomer cannot end them).
 * See docs/security.md, "Agent identity".
 */
export async function admitAgent(db: Kysely<Database>, auth: AgentAuth, hello: Hello, context: AdmissionContext): Promise<Admission> {
  const name = hello.agentName;
  if (auth.kind === 'agent' && auth.name !== name) {
    return refusal(new Refusal('UNAUTHORIZED', `this credential is agent ${auth.name}'s, not ${name}'s: an agent keeps the name it joined with (its state folder holds the credential)`));
  }
  if (auth.kind === 'join' && hello.credential === undefined) {
    return refusal(new Refusal('UNAUTHORIZED', `a join token admits an agent only with a credential of its own; agent version ${hello.agentVersion} sends none: upgrade it`));
  }
  try {
    return await inTransaction(db, async (trx) => {
      const now = new Date();
      // Materialized first so that concurrent hellos for a new name queue on one row lock.
      const inserted = await trx
        .insertInto('agents')
        .values({ name, status: 'offline', capacity_cpu: hello.capacity.cpu, capacity_memory_gb: hello.capacity.memoryGb, last_seen_at: now })
        .onConflict((oc) => oc.column('name').doNothing())
        .returning('name')
        .executeTakeFirst();
      const row = await trx.selectFrom('agents').selectAll().where('name', '=', name).forUpdate().executeTakeFirstOrThrow();
      const decision = await decide(trx, row, auth, hello, context, inserted !== undefined, now);
      if (decision.bind) {
        await trx
          .updateTable('agents')
          .set({ credential_hash: decision.bind.credentialHash, bound_at: decision.bind.since, joined_with: decision.bind.joinedWith })
          .where('name', '=', name)
          .execute();
        // A join (a credential bound to the name) is a change an admin must be able to trace:
        // which join token let which host in, from where. A return with its credential is not.
        await recordAudit(trx, {
          actor: decision.bind.joinedWith ?? 'agent',
          action: 'agent.join',
          targetType: 'agent',
          targetId: name,
          source: context.source ?? null,
          details: { bound: decision.bound, version: storableText(hello.agentVersion), labels: hello.labels ?? {} },
        });
      }
      await markAgentOnline(trx, { name, capacity: hello.capacity, version: hello.agentVersion, schedulerId: context.schedulerId, notReadyReason: context.notReadyReason, labels: hello.labels });
      return {
        admitted: true as const,
        since: decision.bind ? decision.bind.since : row.bound_at,
        credentialHash: decision.bind ? decision.bind.credentialHash : row.credential_hash,
        settings: { drained: row.drained, capacityCpuSet: row.capacity_cpu_set, capacityMemoryGbSet: row.capacity_memory_gb_set },
        bound: decision.bound,
        joinedWith: decision.bind?.joinedWith ?? row.joined_with,
      };
    });
  } catch (error) {
    if (error instanceof Refusal) return refusal(error);
    // Two names cannot share a credential: whoever sends another agent's could just present it.
    if (isUniqueViolation(error)) return refusal(new Refusal('UNAUTHORIZED', 'this credential belongs to another agent'));
    throw error;
  }
}

interface Decision {
  bound: 'kept' | 'new' | 'rebound';
  bind?: { credentialHash: string; since: Date | null; joinedWith: string };
}

async function decide(trx: Kysely<Database>, row: AgentRow, auth: AgentAuth, hello: Hello, context: AdmissionContext, fresh: boolean, now: Date): Promise<Decision> {
  const name = row.name;
  if (row.revoked_at !== null) {
    throw new Refusal('UNAUTHORIZED', `agent ${name} was revoked by an admin: it cannot connect, and the name is taken until an admin deletes it (tapit delete agent ${name})`);
  }
  if (auth.kind === 'agent') {
    // Checked at the upgrade; a revoke or delete since then ends here.
    if (row.credential_hash !== auth.credentialHash) throw new Refusal('UNAUTHORIZED', `agent ${name}'s credential is no longer valid`);
    return { bound: 'kept' };
  }
  if (await isJoinTokenSecret(trx, hello.credential!, context.environmentJoinToken)) {
    throw new Refusal('UNAUTHORIZED', 'a join token cannot be an agent credential: the agent makes its own, a random secret kept in its state folder');
  }
  const credentialHash = hashToken(hello.credential!);
  // The agent's own credential on a join connection: its welcome was lost after the bind.
  if (row.credential_hash === credentialHash) return { bound: 'kept' };
  const useJoin = async () => {
    if (!(await useJoinToken(trx, auth.joinToken))) throw new Refusal('UNAUTHORIZED', `join token ${auth.joinToken} can admit no more agents (used up, expired or revoked)`);
  };
  const heardWithin = (ms: number) => now.getTime() - row.last_seen_at.getTime() < ms;
  if (row.credential_hash === null) {
    // A new name, or an agent from before credentials: bound by the first credential to join,
    // unless connected (to this replica, or by a fresh heartbeat to another).
    if (!fresh && (context.connectedHere || (row.status === 'online' && heardWithin(3 * context.heartbeatIntervalMs)))) {
      throw new Refusal('NAME_IN_USE', `agent ${name} is connected: another agent holds this name (give this one a name of its own with TAPIT_AGENT_NAME)`);
    }
    if (!fresh) await requireHoldsItsTasks(trx, name, hello);
    await useJoin();
    // An agent from before credentials keeps its tasks; a new name owns none placed before now.
    return { bound: 'new', bind: { credentialHash, since: fresh ? now : null, joinedWith: auth.joinToken } };
  }
  const silentForGrace = !heardWithin(context.agentLostGraceSeconds * 1000);
  const tasksLeft = silentForGrace
    ? await trx
        .selectFrom('tasks')
        .select('id')
        .where('agent_name', '=', name)
        .where('status', 'in', [...ON_AGENT_STATUSES])
        .limit(1)
        .executeTakeFirst()
    : undefined;
  if (context.connectedHere || !silentForGrace || !context.listenedLongEnough || tasksLeft !== undefined) {
    const why =
      context.connectedHere || (row.status === 'online' && heardWithin(3 * context.heartbeatIntervalMs))
        ? `agent ${name} is connected: another agent holds this name (give this one a name of its own with TAPIT_AGENT_NAME)`
        : `the name ${name} is bound to another agent's credential (last seen ${row.last_seen_at.toISOString()}); it can be taken once an admin deletes that agent (tapit delete agent ${name}), or after it has been silent for ${context.agentLostGraceSeconds} s with no task left on it`;
    throw new Refusal('NAME_IN_USE', why);
  }
  await useJoin();
  return { bound: 'rebound', bind: { credentialHash, since: now, joinedWith: auth.joinToken } };
}

/**
 * An agent from before credentials has nothing to prove who it is but its tasks: the upgraded
 * agent holds every task it started or accepted (its state folder lists them), while another
 * host with the join token knows none of their ids. Without this, any join-token holder could
 * take over such a name during an upgrade, with its running tasks and consoles.
 */
async function requireHoldsItsTasks(trx: Kysely<Database>, name: string, hello: Hello): Promise<void> {
  const held = new Set(hello.tasks.map((t) => t.taskId));
  const started = await trx
    .selectFrom('tasks')
    .select('id')
    .where('agent_name', '=', name)
    .where('status', 'in', [...ON_AGENT_STATUSES])
    .where((eb) => eb.or([eb('accepted_at', 'is not', null), eb('status', 'in', ['RUNNING', 'STOPPING'])]))
    .execute();
  const missing = started.filter((t) => !held.has(t.id)).length;
  if (missing > 0) {
    throw new Refusal(
      'NAME_IN_USE',
      `agent ${name} is from before agent credentials and runs ${missing} task(s) this agent does not hold: only that agent may take the name back (or an admin frees it: tapit delete agent ${name})`,
    );
  }
}
