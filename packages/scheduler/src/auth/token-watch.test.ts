import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../testing/test-database.js';
import { TokenWatch } from './token-watch.js';
import { createToken, revokeToken } from './tokens.js';

describe.each(DATABASE_KINDS)('TokenWatch on %s', (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(kind);
    for (const name of ['alice', 'bob', 'carol']) await createToken(database.db, { name, role: 'member' }, 'test');
  });
  afterAll(() => database.drop());

  it('ends what was opened with a token revoked on this replica, once, and nothing else', () => {
    const watch = new TokenWatch(database.db);
    const ended: string[] = [];
    watch.watch('alice', () => ended.push('alice-1'));
    watch.watch('alice', () => ended.push('alice-2'));
    const stopWatchingThird = watch.watch('alice', () => ended.push('alice-3'));
    watch.watch('bob', () => ended.push('bob'));
    stopWatchingThird();
    watch.revoked('alice');
    watch.revoked('alice');
    expect(ended).toEqual(['alice-1', 'alice-2']);
  });

  it('finds a revocation made elsewhere (another replica) when it checks the tokens table', async () => {
    const watch = new TokenWatch(database.db);
    const ended: string[] = [];
    watch.watch('bob', () => ended.push('bob'));
    watch.watch('carol', () => ended.push('carol'));
    await watch.check();
    expect(ended).toEqual([]);
    await revokeToken(database.db, 'bob');
    await watch.check();
    expect(ended).toEqual(['bob']);
    await watch.check();
    expect(ended).toEqual(['bob']);
  });
});
