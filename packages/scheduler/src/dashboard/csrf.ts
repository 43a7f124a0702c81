import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/*
 * Every dashboard form carries a CSRF token in a hidden field, checked on every POST:
 * - signed in, it is derived from the session id (an HMAC keyed by it), so it needs no storage
 *   and another site, which cannot read the HttpOnly cookie, cannot compute it;
 * - on the sign-in form (no session yet) it is a random value also set in a cookie of its own
 *   (double submit), so another site cannot sign a browser in with the attacker's token.
 */

/** The CSRF token of a session's forms. */
export function csrfTokenOf(sessionId: string): string {
  return createHmac('sha256', sessionId).update('tapit dashboard csrf').digest('base64url');
}

/** A fresh value for the sign-in form and its cookie. */
export function newSignInCsrf(): string {
  return randomBytes(24).toString('base64url');
}

/** Whether a form's token is the expected one (in constant time; a missing one never is). */
export function csrfMatches(expected: string, given: unknown): boolean {
  if (typeof given !== 'string' || given.length === 0) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
