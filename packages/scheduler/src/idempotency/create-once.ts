import { createHash } from 'node:crypto';
import { IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER, IdempotencyKey } from '@tapit/protocol';
import type { Context } from 'hono';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { ApiError } from '../http/api-error.js';
import type { HonoEnv } from '../http/context.js';
import { claimKey, completeKey, findKey, IDEMPOTENCY_KEY_TTL_HOURS } from './repository.js';
import { keyHash, seal, unseal } from './seal.js';

/**
 * Every create route answers through this (but task creation, which does the same for a batch of
 * requests: tasks/create-batch.ts): `create` runs in one transaction (the resource, its
 * audit row and, with an `Idempotency-Key`, the key's record commit together) and its result is
 * answered 201. A request repeating a key of the same token with the same method, path and body
 * gets the first answer again with 200 and `Idempotent-Replayed: true`, and creates nothing; the
 * same key with another request is refused (422). Call it after the request was validated, so a
 * refused request uses up no key. `create` must use only `trx`: on the embedded database (one
 * connection) a query on `db` inside it would wait for the transaction forever.
 */
export async function createOnce(
  c: Context<HonoEnv>,
  db: Kysely<Database>,
  create: (trx: Transaction<Database>) => Promise<unknown>,
): Promise<Response> {
  const key = idempotencyKeyOf(c);
  if (key === null) return c.json(await inTransaction(db, create), 201);
  const principal = c.get('principal').name;
  const hash = keyHash(key);
  const fingerprint = requestFingerprint(c.req.method, c.req.path, await c.req.json().catch(() => null));
  const outcome = await db.transaction().execute(async (trx) => {
    const claimed = await claimKey(trx, { principal, keyHash: hash, fingerprint });
    if (claimed === null) return { replayed: await findKey(trx, principal, hash) };
    const created = await create(trx);
    await completeKey(trx, claimed, seal(key, principal, JSON.stringify(created)));
    return { created };
  });
  if ('created' in outcome) return c.json(outcome.created, 201);
  c.header(IDEMPOTENT_REPLAYED_HEADER, 'true');
  return c.json(replayedAnswer(key, principal, fingerprint, outcome.replayed), 200);
}

/**
 * The first answer of a key that a live row holds, for a request with `fingerprint`; refused
 * when that row was made by another request (422) or has no answer yet (409).
 */
export function replayedAnswer(key: string, principal: string, fingerprint: string, earlier: { fingerprint: string; response: string | null } | undefined): object {
  // Cannot happen (the answer commits with the key); a clear refusal rather than a crash if it does.
  if (!earlier || earlier.response === null) {
    throw new ApiError('CONFLICT', `a request with this ${IDEMPOTENCY_KEY_HEADER} is still being handled: retry it`, IDEMPOTENCY_KEY_HEADER);
  }
  if (earlier.fingerprint !== fingerprint) {
    throw new ApiError(
      'IDEMPOTENCY_KEY_REUSED',
      `this ${IDEMPOTENCY_KEY_HEADER} was used in the last ${IDEMPOTENCY_KEY_TTL_HOURS} hours for a different request (another path or body): send a new key with a new request`,
      IDEMPOTENCY_KEY_HEADER,
    );
  }
  return JSON.parse(unseal(key, principal, earlier.response)) as object;
}

/** The request's key, validated; null when it sent none. */
export function idempotencyKeyOf(c: Context): string | null {
  const value = c.req.header(IDEMPOTENCY_KEY_HEADER);
  if (value === undefined) return null;
  const parsed = IdempotencyKey.safeParse(value);
  if (!parsed.success) {
    throw new ApiError('VALIDATION_FAILED', `${IDEMPOTENCY_KEY_HEADER} header: ${parsed.error.issues[0]?.message}`, IDEMPOTENCY_KEY_HEADER);
  }
  return parsed.data;
}

/** What makes two requests "the same": method, path and the body's JSON, whatever its key order or spacing. */
export function requestFingerprint(method: string, path: string, body: unknown): string {
  return createHash('sha256').update(`${method} ${path}\n${canonicalJson(body)}`).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
