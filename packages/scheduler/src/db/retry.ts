import { isDatabaseUnavailable } from './errors.js';

export interface RetryOptions {
  /** First wait; doubles up to `capMs`. */
  firstMs?: number;
  capMs?: number;
  /** Called before each wait, with what the database said. */
  onWait?: (error: unknown) => void;
  /** Checked before each wait: true ends the retrying with the last error (the work's owner is gone). */
  giveUp?: () => boolean;
}

/**
 * Runs `work`, and while it fails because the database cannot be reached, runs it again after a
 * growing wait until it does not. Any other error is thrown at once. For work that is safe to
 * repeat: a write whose answer was lost may have been done.
 */
export async function retryWhileUnavailable<T>(work: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { firstMs = 100, capMs = 2000, onWait, giveUp } = options;
  let delay = firstMs;
  for (;;) {
    try {
      return await work();
    } catch (error) {
      if (!isDatabaseUnavailable(error) || giveUp?.()) throw error;
      onWait?.(error);
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, capMs);
    }
  }
}
