/** Postgres' SQLSTATE for a unique or primary-key violation. */
const UNIQUE_VIOLATION = '23505';

export function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === UNIQUE_VIOLATION;
}

/** Anything thrown, as an Error (graphile-worker's coerceError). */
export function coerceError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
