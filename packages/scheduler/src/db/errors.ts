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
