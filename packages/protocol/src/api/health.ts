import { z } from 'zod';

/**
 * `GET /healthz`, readiness: the scheduler answers and its database does. While the database
 * cannot be reached the answer is 503 with an `ApiErrorBody` (`DATABASE_UNAVAILABLE`, the reason).
 */
export const Health = z.object({ status: z.literal('ok'), version: z.string(), database: z.enum(['postgres', 'embedded']) });
export type Health = z.infer<typeof Health>;

/** `GET /livez`, liveness: the process serves, whatever its database does (no restart for an outage). */
export const Liveness = z.object({ status: z.literal('ok'), version: z.string() });
export type Liveness = z.infer<typeof Liveness>;
