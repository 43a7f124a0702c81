/** What went wrong, in the API's words; the HTTP edge maps each to its status code. */
export type DomainErrorCode = 'VALIDATION_FAILED' | 'NOT_FOUND' | 'CONFLICT' | 'AMBIGUOUS_ID' | 'FORBIDDEN';

/**
 * The one exception type of the domain (repositories, lifecycle, schedules): it knows nothing
 * of HTTP; `app.ts` converts it to an `ApiError` answer, other callers (the control loop, the
 * agent gateway) handle it as they need.
 */
export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    /** The offending field, as the API names it. */
    readonly field?: string,
  ) {
    super(message);
  }
}

/** `thing "x" not found`, naming the field that referred to it. */
export const notFound = (what: string, field?: string) => new DomainError('NOT_FOUND', `${what} not found`, field);
