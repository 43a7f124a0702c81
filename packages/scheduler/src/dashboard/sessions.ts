import { createHash, randomBytes } from 'node:crypto';
import type { Role } from '@tapit/protocol';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { hashToken, type Principal } from '../auth/tokens.js';

/** How long a dashboard sign-in lasts; the browser is then sent to sign in again. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

/** The session id a browser holds: 256 random bits, so it is never guessed and never counted as a failure. */
const newSessionId = () => randomBytes(32).toString('base64url');
const hashSession = (sessionId: string) => createHash('sha256').update(sessionId).digest('hex');

export interface OpenedSession {
  /** The cookie's value; only its hash is stored. */
  sessionId: string;
  expiresAt: Date;
  principal: Principal;
}

/**
 * Exchanges an API token for a dashboard session: undefined for an unknown or revoked token
 * (the caller counts it as a failed authentication). Expired sessions of anyone go at each
 * sign-in, so the table holds at most a sign-in period's worth.
 */
export async function openSession(db: Kysely<Database>, secret: string, ttlMs: number = SESSION_TTL_MS): Promise<OpenedSession | undefined> {
  const token = await db
    .selectFrom('tokens')
    .select(['id', 'name', 'role', 'project'])
    .where('token_hash', '=', hashToken(secret))
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (!token) return undefined;
  await db.deleteFrom('dashboard_sessions').where('expires_at', '<=', sql<Date>`now()`).execute();
  const sessionId = newSessionId();
  // The database's clock, as every other expiry: replicas may disagree with each other's.
  const row = await db
    .insertInto('dashboard_sessions')
    .values({ session_hash: hashSession(sessionId), token_id: token.id, expires_at: sql<Date>`now() + ${`${ttlMs} milliseconds`}::interval` })
    .returning('expires_at')
    .executeTakeFirstOrThrow();
  return { sessionId, expiresAt: row.expires_at, principal: { name: token.name, role: token.role as Role, project: token.project } };
}

/**
 * Who holds this session now: looked up on every request with its token, so an expired session
 * or a revoked token answers undefined at once, exactly as the token would at the API.
 */
export async function findSession(db: Kysely<Database>, sessionId: string): Promise<{ principal: Principal; expiresAt: Date } | undefined> {
  const row = await db
    .selectFrom('dashboard_sessions as s')
    .innerJoin('tokens as t', 't.id', 's.token_id')
    .select(['t.name', 't.role', 't.project', 's.expires_at'])
    .where('s.session_hash', '=', hashSession(sessionId))
    .where('s.expires_at', '>', sql<Date>`now()`)
    .where('t.revoked_at', 'is', null)
    .executeTakeFirst();
  return row ? { principal: { name: row.name, role: row.role as Role, project: row.project }, expiresAt: row.expires_at } : undefined;
}

/** Sign-out: the session is gone, whatever the browser still holds. */
export async function endSession(db: Kysely<Database>, sessionId: string): Promise<void> {
  await db.deleteFrom('dashboard_sessions').where('session_hash', '=', hashSession(sessionId)).execute();
}
