/** Postgres' SQLSTATE for a unique or primary-key violation. */
const UNIQUE_VIOLATION = '23505';

export function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === UNIQUE_VIOLATION;
}

/** Anything thrown, as an Error (graphile-worker's coerceError). */
export function coerceError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** SQLSTATE class 22: a value the database cannot take (out of range, bad encoding…). */
export function isDataException(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('22');
}

/** Text as Postgres can store it: NUL is the one character a text column refuses. */
export function storableText(text: string): string {
  return text.includes('\0') ? text.replaceAll('\0', '\uFFFD') : text;
}

/**
 * SQLSTATEs that mean the server went or is not there yet: connection exceptions (class 08),
 * an administrator's or a crash's shutdown, a server starting up or shutting down (57P0x), and
 * no free connection slot (53300). Retrying later is the answer to all of them.
 */
const UNAVAILABLE_SQLSTATES = /^(08...|57P0[1-4]|53300)$/;
/** Socket errors on the way to the server. */
const UNAVAILABLE_SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);
/** What pg, pg-pool, kysely and PGlite say, without a code, when their connection is gone. */
const UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|is not queryable|Cannot use a pool after calling end|driver has already been destroyed|PGlite is closed/;

/**
 * Whether `error` says the database cannot be reached right now (as opposed to a bad query or a
 * bad value): the API answers it with a retryable 503, background work retries it. Looks
 * through `cause` and AggregateError's `errors` (Node reports a refused dual-stack connect so).
 */
export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 3) return false;
  const { code, message, cause, errors } = error as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATES.test(code) || UNAVAILABLE_SOCKET_CODES.has(code))) return true;
  if (typeof message === 'string' && UNAVAILABLE_MESSAGES.test(message)) return true;
  if (Array.isArray(errors) && errors.some((e) => isDatabaseUnavailable(e, depth + 1))) return true;
  return cause !== undefined && isDatabaseUnavailable(cause, depth + 1);
}

/** One line saying why the database failed, for logs and 503 answers (never a stack). */
export function describeDatabaseError(error: unknown): string {
  const e = coerceError(error) as Error & { code?: unknown; errors?: unknown[] };
  // An AggregateError's own message is empty: its first error says it.
  const message = e.message || (Array.isArray(e.errors) && e.errors.length > 0 ? coerceError(e.errors[0]).message : '') || String(e.code ?? 'unknown error');
  const code = typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? ` (${e.code})` : '';
  return `${message.split('\n')[0]}${code}`;
}
