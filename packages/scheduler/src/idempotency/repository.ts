import { sql, type Compilable, type Kysely, type OperationNodeSource, type Transaction } from 'kysely';
import { isUniqueViolation } from '../db/errors.js';
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

/** Keys in the order batches take them: two batches holding the same keys wait for each other instead of deadlocking. */
const inKeyOrder = <K extends { principal: string; keyHash: string }>(keys: readonly K[]) =>
  [...keys].sort((a, b) => (a.principal < b.principal ? -1 : a.principal > b.principal ? 1 : a.keyHash < b.keyHash ? -1 : a.keyHash > b.keyHash ? 1 : 0));

/** A key claimed by `claimKeys`: its row, and whose key it is. */
export interface ClaimedKey {
  id: number;
  principal: string;
  key_hash: string;
}

/**
 * `claimKey` for several keys in one statement (a batch of creates): returns the rows it took;
 * a key missing from the answer is held by a live row (read it with `findKeys`). The keys must
 * be distinct (one statement cannot claim a row twice); they are claimed in a fixed order, so
 * two batches holding the same keys wait for each other instead of deadlocking.
 */
export async function claimKeys(trx: Transaction<Database>, claims: readonly KeyClaim[]): Promise<ClaimedKey[]> {
  if (claims.length === 0) return [];
  const rows = sql.join(inKeyOrder(claims).map((c) => sql`(${c.principal}, ${c.keyHash}, ${c.fingerprint}, now() + make_interval(hours => ${IDEMPOTENCY_KEY_TTL_HOURS}))`));
  const result = await sql<ClaimedKey>`
    INSERT INTO idempotency_keys (principal, key_hash, fingerprint, expires_at)
    VALUES ${rows}
    ON CONFLICT (principal, key_hash) DO UPDATE
      SET fingerprint = excluded.fingerprint, response = NULL, created_at = now(), expires_at = excluded.expires_at
      WHERE idempotency_keys.expires_at <= now()
    RETURNING id, principal, key_hash
  `.execute(trx);
  return result.rows;
}

/**
 * Keys that no row holds yet, stored with their answers: a statement to run within the create's
 * own (a CTE), so a batch whose keys are all new (nearly every batch) is one round trip. A key a
 * row holds already, a retry's or an expired one, fails the whole statement (`isKeyTaken`); the
 * batch is then written with `claimKeys`, which tells those apart.
 */
export function storeNewKeys(db: Kysely<Database>, keys: readonly (KeyClaim & { response: string })[]) {
  return db.insertInto('idempotency_keys').values(
    inKeyOrder(keys).map((k) => ({
      principal: k.principal,
      key_hash: k.keyHash,
      fingerprint: k.fingerprint,
      response: k.response,
      expires_at: sql<Date>`now() + make_interval(hours => ${IDEMPOTENCY_KEY_TTL_HOURS})`,
    })),
  );
}

/** The statement failed on a key some row holds (`storeNewKeys`). Told by the table, whose one unique index besides its ids is the key's: an index being rebuilt has another name. */
export function isKeyTaken(error: unknown): boolean {
  return isUniqueViolation(error) && (error as { table?: unknown }).table === 'idempotency_keys';
}

/** The rows of several keys (`findKey` for a batch). */
export async function findKeys(db: Kysely<Database>, keys: readonly { principal: string; keyHash: string }[]) {
  if (keys.length === 0) return [];
  return db
    .selectFrom('idempotency_keys')
    .select(['principal', 'key_hash', 'fingerprint', 'response'])
    .where((eb) => eb.or(keys.map((k) => eb.and([eb('principal', '=', k.principal), eb('key_hash', '=', k.keyHash)]))))
    .execute();
}

/**
 * `completeKey` for several keys in one statement; `along`, another write of the same
 * transaction (a batch's audit rows), runs in that statement too: one round trip less.
 */
export async function completeKeys(trx: Transaction<Database>, answers: readonly { id: number; response: string }[], along?: Compilable & OperationNodeSource): Promise<void> {
  if (answers.length === 0) {
    if (along) await trx.executeQuery(along.compile());
    return;
  }
  const rows = sql.join(answers.map((a) => sql`(${a.id}::bigint, ${a.response}::text)`));
  const update = sql`UPDATE idempotency_keys SET response = a.response FROM (VALUES ${rows}) AS a (id, response) WHERE idempotency_keys.id = a.id`;
  await (along ? sql`WITH along AS (${along}) ${update}` : update).execute(trx);
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
