import { randomFillSync } from 'node:crypto';

/**
 * Random bytes for the hot paths (a task id and an answer's IV per create): one `randomFillSync`
 * per 4 KiB instead of one per id, as Node's own `randomUUID` does. The bytes are the same CSPRNG's
 * and each is handed out once; a copy is returned, so no caller sees another's.
 */
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let offset = POOL_BYTES;

export function pooledRandomBytes(size: number): Buffer {
  if (size > POOL_BYTES) throw new RangeError(`at most ${POOL_BYTES} pooled random bytes at once`);
  if (offset + size > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const bytes = Buffer.from(pool.subarray(offset, offset + size));
  // Used bytes are overwritten, so they never stay in memory after their use.
  pool.fill(0, offset, offset + size);
  offset += size;
  return bytes;
}
