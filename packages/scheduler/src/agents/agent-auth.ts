import type { IncomingMessage } from 'node:http';
import type { Kysely } from 'kysely';
import { hashToken } from '../auth/tokens.js';
import type { Database } from '../db/schema.js';
import { findJoinToken } from './join-tokens.js';

/**
 * Who opened an agent connection: an agent with its own credential, or a newcomer with a join
 * token (which may only register a credential for a name nobody else holds).
 */
export type AgentAuth = { kind: 'agent'; name: string; credentialHash: string } | { kind: 'join'; joinToken: string };

export function bearerOf(request: IncomingMessage): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
}

/** The agent whose credential `secret` is, unless revoked. */
export async function agentOfCredential(db: Kysely<Database>, secret: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('agents')
    .select('name')
    .where('credential_hash', '=', hashToken(secret))
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return row?.name;
}

/** An agent credential first (the common case once joined), else a join token that may still admit one. */
export async function authenticateAgent(db: Kysely<Database>, secret: string | undefined, environmentJoinToken: string | undefined): Promise<AgentAuth | undefined> {
  if (secret === undefined || secret.length > 512) return undefined;
  const name = await agentOfCredential(db, secret);
  if (name !== undefined) return { kind: 'agent', name, credentialHash: hashToken(secret) };
  const joinToken = await findJoinToken(db, secret, environmentJoinToken);
  return joinToken === undefined ? undefined : { kind: 'join', joinToken };
}
