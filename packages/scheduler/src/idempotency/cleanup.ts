import type { Kysely } from 'kysely';
import { coerceError } from '../db/errors.js';
import type { Database } from '../db/schema.js';
import { deleteExpiredIdempotencyKeys } from './repository.js';

/** Keys live 24 hours; deleting the expired ones every 10 minutes keeps the table near a day of creates. */
const CLEANUP_INTERVAL_MS = 10 * 60_000;

/**
 * Deletes expired idempotency keys now and then every 10 minutes. Every replica does it: the
 * delete is harmless to repeat, and no replica has to be the one in charge.
 */
export function startIdempotencyKeyCleanup(db: Kysely<Database>, log: (line: string) => void, intervalMs = CLEANUP_INTERVAL_MS): { stop(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const run = async () => {
    try {
      await deleteExpiredIdempotencyKeys(db);
    } catch (error) {
      log(`idempotency key cleanup: ${coerceError(error).message}`);
    }
    if (!stopped) timer = setTimeout(() => (running = run()), intervalMs).unref();
  };
  running = run();
  return {
    /** Stops the timer and waits for a running delete, so the database can close after it. */
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
