import { z } from 'zod';

/**
 * A client's name for one create, sent as the `Idempotency-Key` header on any POST that
 * creates something: a retry with the same key and body answers the first result again (200)
 * instead of creating a second one. A random UUID is a good key.
 */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';

/** Set to `true` on an answer that replays an earlier create instead of creating. */
export const IDEMPOTENT_REPLAYED_HEADER = 'Idempotent-Replayed';

/** Printable, header-safe and long enough to be unique: UUIDs, ULIDs, base64url, hex all fit. */
export const IdempotencyKey = z
  .string()
  .regex(/^[A-Za-z0-9_.:+/=~-]{16,255}$/, 'must be 16 to 255 characters: letters, digits and _ . : + / = ~ - (a random UUID is a good key)');
export type IdempotencyKey = z.infer<typeof IdempotencyKey>;
