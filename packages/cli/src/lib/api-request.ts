import { IDEMPOTENCY_KEY_HEADER, INITIATED_BY_HEADER } from '@tapit/protocol/headers';

/*
 * How a request to the API is addressed and what it presents, in one place for the API client
 * and the early start (src/early/), so that the request the early start sends is, byte for
 * byte, the one the client would have sent.
 */

export type Query = Record<string, string | number | undefined>;

/** The base URL as given, without trailing slashes. */
export function apiBase(url: string): string {
  return url.replace(/\/+$/, '');
}

/** The full URL of `path` (already escaped) under `base`, with the query's defined values. */
export function apiUrl(base: string, path: string, query?: Query): string {
  const url = new URL(base + path);
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined) url.searchParams.set(key, String(value));
  }
  return url.toString();
}

/** What every request presents, websocket upgrades too: the token, and who is behind it. */
export function identityHeaders(token: string, initiatedBy: string | undefined): Record<string, string> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  // Percent-encoded: a header carries only Latin-1, a name may be anything.
  if (initiatedBy) headers[INITIATED_BY_HEADER.toLowerCase()] = encodeURIComponent(initiatedBy);
  return headers;
}

/** The headers of one request; `extra` (an idempotency key) last. */
export function requestHeaders(identity: Record<string, string>, accept: string, hasBody: boolean, extra: Record<string, string> = {}): Record<string, string> {
  const headers: Record<string, string> = { ...identity, accept, ...extra };
  if (hasBody) headers['content-type'] = 'application/json';
  return headers;
}

/** The header a create is sent with, so that a retry is answered instead of creating twice. */
export function idempotencyHeader(key: string): Record<string, string> {
  return { [IDEMPOTENCY_KEY_HEADER.toLowerCase()]: key };
}
