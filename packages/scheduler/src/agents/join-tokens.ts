import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { JOIN_TOKEN_DEFAULT_SECONDS, type CreateJoinTokenRequest, type CreatedJoinToken, type JoinTokenView } from '@tapit/protocol';
import { sql, type Kysely } from 'kysely';
import { hashToken } from '../auth/tokens.js';
import { isUniqueViolation } from '../db/errors.js';
import type { Database, JoinTokenRow } from '../db/schema.js';
import { DomainError, notFound } from '../domain/domain-error.js';

/** How agents.joined_with names the join token of the scheduler's environment. */
export const ENVIRONMENT_JOIN_TOKEN = 'TAPIT_AGENT_JOIN_TOKEN';

const digest = (s: string) => createHash('sha256').update(s).digest();

function toView(row: JoinTokenRow): JoinTokenView {
  return {
    name: row.name,
    used: row.uses,
    uses: row.max_uses,
    expiresAt: row.expires_at.toISOString(),
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
    revokedAt: row.revoked_at ? row.revoked_at.toISOString() : null,
  };
}

export async function createJoinToken(db: Kysely<Database>, body: CreateJoinTokenRequest, by: string): Promise<CreatedJoinToken> {
  const secret = `tapit_join_${randomBytes(24).toString('base64url')}`;
  const name = body.name ?? `join-${randomBytes(3).toString('hex')}`;
  try {
    const row = await db
      .insertInto('join_tokens')
      .values({
        name,
        token_hash: hashToken(secret),
        max_uses: body.uses ?? null,
        expires_at: new Date(Date.now() + (body.expiresInSeconds ?? JOIN_TOKEN_DEFAULT_SECONDS) * 1000),
        created_by: by,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { ...toView(row), token: secret };
  } catch (error) {
    if (isUniqueViolation(error)) throw new DomainError('CONFLICT', `a join token named "${name}" already exists`, 'name');
    throw error;
  }
}

export async function listJoinTokens(db: Kysely<Database>): Promise<JoinTokenView[]> {
  return (await db.selectFrom('join_tokens').selectAll().orderBy('created_at').orderBy('name').execute()).map(toView);
}

export async function revokeJoinToken(db: Kysely<Database>, name: string): Promise<void> {
  const result = await db.updateTable('join_tokens').set({ revoked_at: new Date() }).where('name', '=', name).where('revoked_at', 'is', null).executeTakeFirst();
  if (result.numUpdatedRows === 0n) throw notFound(`active join token "${name}"`, 'name');
}

/**
 * The name of the join token `secret` is, if it may still admit an agent: the environment's
 * (compared in constant time), or a stored one neither revoked, expired nor used up.
 */
export async function findJoinToken(db: Kysely<Database>, secret: string, environmentToken: string | undefined): Promise<string | undefined> {
  if (environmentToken !== undefined && timingSafeEqual(digest(secret), digest(environmentToken))) return ENVIRONMENT_JOIN_TOKEN;
  const row = await db
    .selectFrom('join_tokens')
    .select('name')
    .where('token_hash', '=', hashToken(secret))
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .where((eb) => eb.or([eb('max_uses', 'is', null), eb('uses', '<', eb.ref('max_uses'))]))
    .executeTakeFirst();
  return row?.name;
}

/**
 * Whether `secret` is a join token, in any state (used up, expired and revoked ones too), or the
 * environment's: such a secret may never become an agent's credential, or presenting the join
 * token would open that agent's connections and console dial-backs.
 */
export async function isJoinTokenSecret(db: Kysely<Database>, secret: string, environmentToken: string | undefined): Promise<boolean> {
  if (environmentToken !== undefined && timingSafeEqual(digest(secret), digest(environmentToken))) return true;
  const row = await db.selectFrom('join_tokens').select('name').where('token_hash', '=', hashToken(secret)).executeTakeFirst();
  return row !== undefined;
}

/**
 * Counts one agent admitted by the join token, in the caller's transaction; false when it can no
 * longer admit one (used up, expired or revoked since the upgrade was checked).
 */
export async function useJoinToken(db: Kysely<Database>, name: string): Promise<boolean> {
  if (name === ENVIRONMENT_JOIN_TOKEN) return true;
  const result = await db
    .updateTable('join_tokens')
    .set((eb) => ({ uses: eb('uses', '+', 1) }))
    .where('name', '=', name)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .where((eb) => eb.or([eb('max_uses', 'is', null), eb('uses', '<', eb.ref('max_uses'))]))
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
