/** Runs kept per schedule, newest first; older settled ones are pruned as new slots come (docs/schedules.md). */
export const HISTORY_LIMIT = 100;

/**
 * Rows one catch-up records for missed slots, however long the outage: the first missed slot
 * (its reason counts the ones not recorded) and the newest ones.
 */
export const MISSED_ROWS_PER_CATCH_UP = 50;

/** Retries wait at most this long. */
export const RETRY_BACKOFF_CAP_MS = 10 * 60_000;

/** The wait before retry `n` (1 for the first): the base, doubling each time, capped. */
export function retryDelayMs(baseMs: number, n: number): number {
  return Math.min(baseMs * 2 ** Math.max(0, n - 1), Math.max(baseMs, RETRY_BACKOFF_CAP_MS));
}
