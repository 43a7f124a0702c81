import type { CreatedToken, CreateTokenRequest } from '@tapit/protocol';
import type { Kysely, Transaction } from 'kysely';
import { recordAudit } from '../audit/record.js';
import type { Requester } from '../audit/request-audit.js';
import type { Database } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { requireAllProjects, requireRole } from './permissions.js';
import type { TokenWatch } from './token-watch.js';
import { createToken, revokeToken, type Principal } from './tokens.js';

/*
 * Tokens are managed by admins of all projects only, through the API's routes and the
 * dashboard's tokens page alike: the same checks, the same change and audit event.
 */

export function requireTokenAdmin(principal: Principal): void {
  requireRole(principal, 'admin');
  requireAllProjects(principal);
}

/** The transaction that creates a token with its audit event (the API's route runs it under its Idempotency-Key). */
export function tokenCreation(principal: Principal, requester: Requester, body: CreateTokenRequest) {
  requireTokenAdmin(principal);
  return async (trx: Transaction<Database>): Promise<CreatedToken> => {
    const created = await createToken(trx, body, principal.name);
    await recordAudit(trx, { ...requester, action: 'token.create', targetType: 'token', targetId: body.name, project: body.project ?? null, details: { role: body.role } });
    return created;
  };
}

export async function revokeTokenAs(db: Kysely<Database>, tokenWatch: TokenWatch, principal: Principal, requester: Requester, name: string): Promise<void> {
  requireTokenAdmin(principal);
  await inTransaction(db, async (trx) => {
    await revokeToken(trx, name);
    await recordAudit(trx, { ...requester, action: 'token.revoke', targetType: 'token', targetId: name });
  });
  // After the commit: a revocation that rolled back must not end the token's streams.
  tokenWatch.revoked(name);
}
