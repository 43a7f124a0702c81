import { z } from 'zod';
import { Name, Timestamp } from '../common/ids.js';

/** A join token lives at most a year; agents keep their own credential after joining. */
export const JOIN_TOKEN_MAX_SECONDS = 365 * 24 * 3600;
export const JOIN_TOKEN_DEFAULT_SECONDS = 24 * 3600;

/** `tapit create join-token [NAME] [uses=N] [expires=24h]`. */
export const CreateJoinTokenRequest = z.strictObject({
  /** Omitted, the scheduler names it `join-` and a few hex characters. */
  name: Name.optional(),
  /** How many agents it may admit; omitted or null, no limit (it still expires). */
  uses: z
    .number({ error: 'must be a whole number of agents from 1 to 100000' })
    .int('must be a whole number of agents from 1 to 100000')
    .min(1, 'must be at least 1 agent')
    .max(100000, 'must be at most 100000 agents')
    .nullable()
    .optional(),
  /** Lifetime in seconds from now; default 24 hours. */
  expiresInSeconds: z
    .number({ error: `must be a whole number of seconds from 60 to ${JOIN_TOKEN_MAX_SECONDS}` })
    .int(`must be a whole number of seconds from 60 to ${JOIN_TOKEN_MAX_SECONDS}`)
    .min(60, 'must be at least 60 seconds')
    .max(JOIN_TOKEN_MAX_SECONDS, `must be at most ${JOIN_TOKEN_MAX_SECONDS} seconds (a year)`)
    .optional(),
});
export type CreateJoinTokenRequest = z.infer<typeof CreateJoinTokenRequest>;

export const JoinTokenView = z.object({
  name: Name,
  /** Agents it admitted so far. */
  used: z.number().int().nonnegative(),
  /** Agents it may admit in all; null for no limit. */
  uses: z.number().int().positive().nullable(),
  expiresAt: Timestamp,
  createdBy: z.string().nullable(),
  createdAt: Timestamp,
  revokedAt: Timestamp.nullable(),
});
export type JoinTokenView = z.infer<typeof JoinTokenView>;

/** Returned once, at creation: the only time the secret is shown. */
export const CreatedJoinToken = JoinTokenView.extend({ token: z.string() });
export type CreatedJoinToken = z.infer<typeof CreatedJoinToken>;

export const JoinTokenList = z.object({ items: z.array(JoinTokenView) });
