import { z } from 'zod';
import { Name, Timestamp } from '../common/ids.js';

/** admin: everything; member: run and manage tasks and apps; viewer: read only. */
export const Role = z.enum(['admin', 'member', 'viewer']);
export type Role = z.infer<typeof Role>;

export const CreateTokenRequest = z.strictObject({
  name: Name,
  role: Role,
  /** Limit the token to one project; omitted, it sees every project. */
  project: Name.optional(),
});
export type CreateTokenRequest = z.infer<typeof CreateTokenRequest>;

export const TokenView = z.object({
  name: Name,
  role: Role,
  project: Name.nullable(),
  createdAt: Timestamp,
  revokedAt: Timestamp.nullable(),
});
export type TokenView = z.infer<typeof TokenView>;

/** Returned once, at creation: the only time the secret is shown. */
export const CreatedToken = TokenView.extend({ token: z.string() });
export type CreatedToken = z.infer<typeof CreatedToken>;

export const TokenList = z.object({ items: z.array(TokenView) });

export const WhoAmI = z.object({ name: z.string(), role: Role, project: Name.nullable() });
export type WhoAmI = z.infer<typeof WhoAmI>;
