import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../db/schema.js';

/** How long a key holds its answer; after that the same key creates anew. */
export const IDEMPOTENCY_KEY_TTL_HOURS = 24;

export interface KeyClaim {
  principal: string;
  keyHash: string;
  fingerprint: string;
}

/**
 * Takes the key for a create in `trx`, or returns null when a live row holds it already (read it
 * with `findKey`). An expired row is taken over. The unique index makes a second request with
 * the same key wait here until the first one's transaction ends: after its commit this returns
 * null, after its rollback the key is taken — so one key makes one resource, across replicas.
 * A `Transaction`, not any database: a key claimed outside the create's transaction would commit
 * without its resource.
 */
export async function claimKey(trx: Transaction<Database>, claim: KeyClaim): Promise<number | null> {
  const result = await sql<{ id: number }>`
    INSERT INTO idempotency_keys (principal, key_hash, fingerprint, expires_at)
    VALUES (${claim.principal}, ${claim.keyHash}, ${claim.fingerprint}, now() + make_interval(hours => ${IDEMPOTENCY_KEY_TTL_HOURS}))
    ON CONFLICT (principal, key_hash) DO UPDATE
      SET fingerprint = excluded.fingerprint, response = NULL, created_at = now(), expires_at = excluded.expires_at
      WHERE idempotency_keys.expires_at <= now()
    RETURNING id
  `.execute(trx);
  return result.rows[0]?.id ?? null;
}

export async function findKey(db: Kysely<Database>, principal: string, keyHash: string) {
  return db
    .selectFrom('idempotency_keys')
    .select(['fingerprint', 'response'])
    .where('principal', '=', principal)
    .where('key_hash', '=', keyHash)
    .executeTakeFirst();
}

/** Stores the (sealed) answer in the create's own transaction. */
export async function completeKey(trx: Transaction<Database>, id: number, response: string): Promise<void> {
  await trx.updateTable('idempotency_keys').set({ response }).where('id', '=', id).execute();
}

/**
 * Deletes expired keys, a batch at a time (no long lock on a big table); returns how many. The
 * outer `expires_at` test is checked again on a row a concurrent claim just renewed, so a key
 * taken over at this moment is not deleted under it.
 */
export async function deleteExpiredIdempotencyKeys(db: Kysely<Database>, batch = 5000): Promise<number> {
  let total = 0;
  for (;;) {
    const result = await sql`
      DELETE FROM idempotency_keys
      WHERE expires_at <= now()
        AND id IN (SELECT id FROM idempotency_keys WHERE expires_at <= now() ORDER BY expires_at LIMIT ${batch})
    `.execute(db);
    const deleted = Number(result.numAffectedRows ?? 0n);
    total += deleted;
    if (deleted < batch) return total;
  }
}
