import { z } from 'zod';

/** Every error the API returns has one of these codes. */
export const ErrorCode = z.enum([
  'VALIDATION_FAILED',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'AMBIGUOUS_ID',
  'PAYLOAD_TOO_LARGE',
  /** An Idempotency-Key already used (within its 24 hours) for a different request: 422. */
  'IDEMPOTENCY_KEY_REUSED',
  /** 429: too many failed authentications or open connections from one address; see `Retry-After`. */
  'RATE_LIMITED',
  /**
   * 429: the token holds as many long-lived streams (log follows, console and exec sessions) as it
   * may (TAPIT_MAX_STREAMS_PER_TOKEN), or the scheduler serves as many as it may (TAPIT_MAX_STREAMS,
   * with `Retry-After`); the message names which.
   */
  'TOO_MANY_STREAMS',
  /** 503: the scheduler holds as many connections (TAPIT_MAX_CONNECTIONS) or agent connections as it is allowed to. */
  'SERVER_BUSY',
  'INTERNAL',
  /** 503: the scheduler cannot reach its database right now; retry after `Retry-After` seconds. */
  'DATABASE_UNAVAILABLE',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const ApiErrorBody = z.object({
  error: z.object({
    code: ErrorCode,
    message: z.string(),
    /** The offending field, as a dotted path, when one field is to blame. */
    field: z.string().optional(),
  }),
});
export type ApiErrorBody = z.infer<typeof ApiErrorBody>;

/** Turns zod issues into one line per field: `memoryGb: must be at most 1024 GB`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}
