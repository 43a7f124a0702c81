import type { ErrorCode } from '@tapit/protocol';
import { describeDatabaseError, isDatabaseUnavailable } from '../db/errors.js';
import { DomainError } from '../domain/domain-error.js';

const STATUS: Record<ErrorCode, number> = {
  VALIDATION_FAILED: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  AMBIGUOUS_ID: 409,
  PAYLOAD_TOO_LARGE: 413,
  IDEMPOTENCY_KEY_REUSED: 422,
  RATE_LIMITED: 429,
  TOO_MANY_STREAMS: 429,
  SERVER_BUSY: 503,
  INTERNAL: 500,
  DATABASE_UNAVAILABLE: 503,
};

/** What a 503 DATABASE_UNAVAILABLE asks the client to wait (its `Retry-After`, in seconds). */
export const RETRY_AFTER_SECONDS = 2;

/**
 * The exception type of what is HTTP's own (authentication, rate limits, body size, malformed
 * requests, the database away); the domain throws DomainError. Either becomes
 * `{ error: { code, message, field } }` at the edges (`toApiError`).
 */
export class ApiError extends Error {
  readonly status: number;
  /** Sent as `Retry-After` (seconds): when trying again may succeed. */
  readonly retryAfterSeconds: number | undefined;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
    options: { retryAfterSeconds?: number } = {},
  ) {
    super(message);
    this.status = STATUS[code];
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** The database cannot be reached: a retryable 503 that says why (`error` is the database's). */
export const databaseUnavailable = (error: unknown) =>
  new ApiError('DATABASE_UNAVAILABLE', `the scheduler's database is unavailable (${describeDatabaseError(error)}); retry in ${RETRY_AFTER_SECONDS} s`);

/** A domain error as the API answers it: same code, message and field. */
export const fromDomainError = (error: DomainError) => new ApiError(error.code, error.message, error.field);

/**
 * What an edge (the HTTP app, a websocket upgrade) answers for a thrown value: an ApiError as it
 * is, a DomainError with its code, message and field, the database being away as a retryable 503;
 * undefined for anything else, an internal error the edge logs and answers without details.
 */
export function toApiError(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return error;
  if (error instanceof DomainError) return fromDomainError(error);
  if (isDatabaseUnavailable(error)) return databaseUnavailable(error);
  return undefined;
}
