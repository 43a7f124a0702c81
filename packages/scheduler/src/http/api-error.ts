import type { ErrorCode } from '@tapit/protocol';

const STATUS: Record<ErrorCode, number> = {
  VALIDATION_FAILED: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  AMBIGUOUS_ID: 409,
  PAYLOAD_TOO_LARGE: 413,
  INTERNAL: 500,
};

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
