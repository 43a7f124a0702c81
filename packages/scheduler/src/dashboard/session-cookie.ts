import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { reachedOverTls } from './reached-over-tls.js';

export const SESSION_COOKIE = 'tapit_session';
/** The sign-in form's double-submit CSRF value (csrf.ts). */
export const SIGN_IN_CSRF_COOKIE = 'tapit_sign_in_csrf';

/** Cookies are Secure when the browser reached us over TLS (reached-over-tls.ts). */
function overTls(c: Context): boolean {
  return reachedOverTls(new URL(c.req.url).protocol === 'https:', c.req.header('x-forwarded-proto'));
}

export function setSessionCookie(c: Context, sessionId: string, expiresAt: Date): void {
  const maxAge = Math.max(0, Math.floor((expiresAt.getTime() - Date.now()) / 1000));
  // Lax, not Strict: a link to a task page from a chat or an alert opens signed in; every POST
  // still needs its CSRF token.
  setCookie(c, SESSION_COOKIE, sessionId, { path: '/', httpOnly: true, sameSite: 'Lax', secure: overTls(c), maxAge, expires: expiresAt });
}

export const readSessionCookie = (c: Context) => getCookie(c, SESSION_COOKIE);

export function clearSessionCookie(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'Lax', secure: overTls(c) });
}

export function setSignInCsrfCookie(c: Context, value: string): void {
  setCookie(c, SIGN_IN_CSRF_COOKIE, value, { path: '/sign-in', httpOnly: true, sameSite: 'Strict', secure: overTls(c), maxAge: 60 * 60 });
}

export const readSignInCsrfCookie = (c: Context) => getCookie(c, SIGN_IN_CSRF_COOKIE);
