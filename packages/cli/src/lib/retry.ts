/*
 * When a request may be sent again. Only creates carry an Idempotency-Key, so only they are
 * retried: a retry with the same key answers the first result if the first attempt did arrive.
 */

/** How often a create is sent in all before the CLI gives up (about 8 s of backoff). */
export const CREATE_ATTEMPTS = 5;

/** The longest wait a Retry-After may ask for before the next attempt. */
const MAX_RETRY_AFTER_MS = 30_000;

/**
 * Network failures after which the request may not have arrived, or its answer was lost (the
 * connection refused, reset or timed out). Not a TLS or DNS failure: trying again changes nothing.
 */
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

export function isTransientNetworkError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && TRANSIENT_CODES.has(code);
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
