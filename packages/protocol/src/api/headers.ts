/*
 * The API's own HTTP header names, in a module without schemas: the CLI's early start
 * (packages/cli/src/early/) sends a create before it loads zod, and imports these alone.
 */

/**
 * A client's name for one create, sent as the `Idempotency-Key` header on any POST that
 * creates something: a retry with the same key and body answers the first result again (200)
 * instead of creating a second one. A random UUID is a good key.
 */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';

/** Set to `true` on an answer that replays an earlier create instead of creating. */
export const IDEMPOTENT_REPLAYED_HEADER = 'Idempotent-Replayed';

/**
 * Who started a change, in the client's words (a person behind a shared CI token, a job name):
 * sent as this header on any request, and recorded with the change's audit event. The value is
 * percent-encoded UTF-8 (as `encodeURIComponent` gives), so any name fits in a header.
 */
export const INITIATED_BY_HEADER = 'X-Initiated-By';
