/*
 * When a request may be sent again. Only creates carry an Idempotency-Key, so only they are
 * retried: a retry with the same key answers the first result if the first attempt did arrive.
 */

/** How often a create is sent in all before the CLI gives up (about 8 s of backoff). */
export const CREATE_ATTEMPTS = 5;

/** The longest wait a Retry-After may ask for before the next attempt. */
const MAX_RETRY_AFTER_MS = 30_000;

/** The connection broke or stalled: the request may have arrived and its answer been lost. */
const LOST_ANSWER = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ETIMEDOUT']);
/** No connection at all: nothing arrived. Worth another try only where the scheduler was reached before (it is restarting). */
const NOT_REACHED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/**
 * Whether a network failure is worth sending the request again. A lost answer always is; a
 * refused connection only after an earlier attempt reached the scheduler, so a wrong URL fails at
 * once. Never a TLS or DNS-name failure: trying again changes nothing.
 */
export function isTransientNetworkError(error: unknown, reachedBefore = true): boolean {
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== 'string') return false;
  return LOST_ANSWER.has(code) || (reachedBefore && NOT_REACHED.has(code));
}

/** Whether a failed attempt still reached the scheduler (its connection was open). */
export function reachedScheduler(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && LOST_ANSWER.has(code) && code !== 'ETIMEDOUT';
}

/** A proxy's or a scheduler's "not now": a bad gateway, unavailable (a database outage), a gateway timeout. */
export function isTransientStatus(status: number): boolean {
  return status === 502 || status === 503 || status === 504;
}

/** Retry-After in milliseconds (seconds or an HTTP date), capped; null when absent or unreadable. */
export function retryAfterMs(header: string | string[] | undefined, now: number = Date.now()): number | null {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return null;
  const ms = /^\d+$/.test(value.trim()) ? Number(value) * 1000 : Date.parse(value) - now;
  return Number.isNaN(ms) ? null : Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

/** Exponential backoff with jitter: ~250 ms, 500 ms, 1 s, 2 s, … up to 4 s before attempt n+1. */
export function backoffMs(attempt: number, baseMs = 250): number {
  const delay = Math.min(baseMs * 2 ** (attempt - 1), 4000);
  return Math.round(delay * (0.75 + Math.random() * 0.5));
}
