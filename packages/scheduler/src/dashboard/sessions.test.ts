import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken, revokeToken } from '../auth/tokens.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../testing/test-database.js';
import { csrfMatches, csrfTokenOf } from './csrf.js';
import { endSession, findSession, openSession } from './sessions.js';

describe.each(DATABASE_KINDS)('dashboard sessions on %s', (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(kind);
  });
  afterAll(() => database.drop());

  it('exchanges a token for a session, storing only the hash of its id', async () => {
    const { token } = await createToken(database.db, { name: 'ops', role: 'member' }, 'test');
    const opened = await openSession(database.db, token);
    expect(opened?.principal).toEqual({ name: 'ops', role: 'member', project: null });
    const rows = await database.db.selectFrom('dashboard_sessions').selectAll().execute();
    expect(rows[0]!.session_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(rows)).not.toContain(opened!.sessionId);
    // About 12 hours from now, by the database's clock.
    const hours = (opened!.expiresAt.getTime() - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(11.9);
    expect(hours).toBeLessThanOrEqual(12.01);
    expect((await findSession(database.db, opened!.sessionId))?.principal.name).toBe('ops');
  });

  it('refuses an unknown or revoked token', async () => {
    expect(await openSession(database.db, 'tapit_not-a-token')).toBeUndefined();
    const { token } = await createToken(database.db, { name: 'gone', role: 'viewer' }, 'test');
    await revokeToken(database.db, 'gone');
    expect(await openSession(database.db, token)).toBeUndefined();
  });

  it('ends a session when its token is revoked, at the next lookup', async () => {
    const { token } = await createToken(database.db, { name: 'leaver', role: 'viewer' }, 'test');
    const opened = (await openSession(database.db, token))!;
    expect(await findSession(database.db, opened.sessionId)).toBeDefined();
    await revokeToken(database.db, 'leaver');
    expect(await findSession(database.db, opened.sessionId)).toBeUndefined();
  });

  it('ends a session at sign-out and at its expiry, and deletes expired ones at a sign-in', async () => {
    const { token } = await createToken(database.db, { name: 'brief', role: 'viewer' }, 'test');
    const signedOut = (await openSession(database.db, token))!;
    await endSession(database.db, signedOut.sessionId);
    expect(await findSession(database.db, signedOut.sessionId)).toBeUndefined();

    const expiring = (await openSession(database.db, token, 50))!;
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(await findSession(database.db, expiring.sessionId)).toBeUndefined();
    const before = await database.db.selectFrom('dashboard_sessions').select('session_hash').where('expires_at', '<=', sql<Date>`now()`).execute();
    expect(before.length).toBeGreaterThan(0);
    await openSession(database.db, token);
    const after = await database.db.selectFrom('dashboard_sessions').select('session_hash').where('expires_at', '<=', sql<Date>`now()`).execute();
    expect(after).toEqual([]);
  });

  it('gives each session its own CSRF token, checked in constant time', () => {
    const a = csrfTokenOf('session-a');
    expect(a).toBe(csrfTokenOf('session-a'));
    expect(a).not.toBe(csrfTokenOf('session-b'));
    expect(csrfMatches(a, a)).toBe(true);
    expect(csrfMatches(a, csrfTokenOf('session-b'))).toBe(false);
    expect(csrfMatches(a, '')).toBe(false);
    expect(csrfMatches(a, undefined)).toBe(false);
    expect(csrfMatches(a, `${a}x`)).toBe(false);
  });
});
