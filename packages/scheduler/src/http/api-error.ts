import type { ErrorCode } from '@tapit/protocol';
import { describeDatabaseError } from '../db/errors.js';
import type { DomainError } from '../domain/domain-error.js';

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
  SERVER_BUSY: 503,
  INTERNAL: 500,
  DATABASE_UNAVAILABLE: 503,
};

/** What a 503 DATABASE_UNAVAILABLE asks the client to wait (its `Retry-After`, in seconds). */
export const RETRY_AFTER_SECONDS = 2;

/** The one exception type of the API; `onError` turns it into `{ error: { code, message } }`. */
export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.status = STATUS[code];
  }
}

export const notFound = (what: string, field?: string) => new ApiError('NOT_FOUND', `${what} not found`, field);

/** The database cannot be reached: a retryable 503 that says why (`error` is the database's). */
export const databaseUnavailable = (error: unknown) =>
  new ApiError('DATABASE_UNAVAILABLE', `the scheduler's database is unavailable (${describeDatabaseError(error)}); retry in ${RETRY_AFTER_SECONDS} s`);

/** A domain error as the API answers it: same code, message and field. */
export const fromDomainError = (error: DomainError) => new ApiError(error.code, error.message, error.field);
