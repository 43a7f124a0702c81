import { z } from 'zod';

/** Printable, header-safe and long enough to be unique: UUIDs, ULIDs, base64url, hex all fit. */
export const IdempotencyKey = z
  .string()
  .regex(/^[A-Za-z0-9_.:+/=~-]{16,255}$/, 'must be 16 to 255 characters: letters, digits and _ . : + / = ~ - (a random UUID is a good key)');
export type IdempotencyKey = z.infer<typeof IdempotencyKey>;
