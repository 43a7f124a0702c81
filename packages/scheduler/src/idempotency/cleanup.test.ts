import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';
import { startIdempotencyKeyCleanup } from './cleanup.js';

describe('idempotency key cleanup', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase('postgres');
  });
  afterAll(() => database.drop());

  it('deletes expired keys at start and on its timer, and keeps live ones', async () => {
    const insert = (hash: string, expires: string) =>
      sql`INSERT INTO idempotency_keys (principal, key_hash, fingerprint, response, expires_at) VALUES ('ci', ${hash}, 'f', 'r', now() + ${expires}::interval)`.execute(database.db);
    await insert('expired-at-start', '-1 hour');
    await insert('live', '1 hour');
    const hashes = async () => (await database.db.selectFrom('idempotency_keys').select('key_hash').orderBy('key_hash').execute()).map((r) => r.key_hash);
    const cleanup = startIdempotencyKeyCleanup(database.db, () => {}, 50);
    try {
      await expect.poll(hashes).toEqual(['live']);
      await insert('expired-later', '-1 second');
      await expect.poll(hashes).toEqual(['live']);
    } finally {
      await cleanup.stop();
    }
  });
});
