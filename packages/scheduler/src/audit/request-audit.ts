import type { Context } from 'hono';
import { clientAddress, type HonoEnv } from '../http/context.js';
import type { AuditEntry } from './record.js';

/** Who made a request, as its audit event records it: the token's name, the client's X-Initiated-By, its address. */
export function requestAudit(c: Context<HonoEnv>): Required<Pick<AuditEntry, 'actor' | 'initiatedBy' | 'source'>> {
  return { actor: c.get('principal').name, initiatedBy: c.get('initiatedBy') ?? null, source: clientAddress(c) };
}

/** Who made a request, for a change made outside a route of /v1 too (the dashboard's forms). */
export type Requester = ReturnType<typeof requestAudit>;
