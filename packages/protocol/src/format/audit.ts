import type { AuditEvent } from '../api/audit.js';
import type { TokenView } from '../api/tokens.js';
import { formatTimestamp, shortId, truncate } from './text.js';
import type { Listing } from './tasks.js';

const HEX_ID = /^[0-9a-f]{32}$/;

/** `task 3f2a9c0d1b4e` (an id as `show task` takes it back), `app shop/default/web`. */
export function formatTarget(event: Pick<AuditEvent, 'targetType' | 'targetId'>): string {
  return `${event.targetType} ${HEX_ID.test(event.targetId) ? shortId(event.targetId) : event.targetId}`;
}

/** `app=web kind=background`: what else the event says, on one line. */
export function formatDetails(details: AuditEvent['details']): string {
  return Object.entries(details)
    .filter(([, value]) => value !== null && value !== undefined)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
}

/** `tapit list audit`'s columns: newest first, times in UTC like every other listing. */
export function auditListing(events: readonly AuditEvent[]): Listing {
  return {
    headers: ['TIME (UTC)', 'ACTOR', 'INITIATED BY', 'ACTION', 'TARGET', 'PROJECT', 'SOURCE', 'DETAILS'],
    rows: events.map((event) => [
      formatTimestamp(event.time),
      event.actor,
      event.initiatedBy === null ? '-' : truncate(event.initiatedBy, 40),
      event.action,
      formatTarget(event),
      event.project ?? '-',
      event.source ?? '-',
      truncate(formatDetails(event.details), 80),
    ]),
  };
}

/** `tapit list tokens`'s columns (secrets are never shown again). */
export function tokenListing(tokens: readonly TokenView[]): Listing {
  return {
    headers: ['NAME', 'ROLE', 'PROJECT', 'CREATED', 'REVOKED'],
    rows: tokens.map((t) => [t.name, t.role, t.project ?? '(all)', formatTimestamp(t.createdAt), t.revokedAt === null ? '' : formatTimestamp(t.revokedAt)]),
  };
}
