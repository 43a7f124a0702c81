import type { AuditEvent } from '@tapit/protocol';
import { formatTimestamp, table, truncate } from './output.js';
import { shortId } from './task-output.js';

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

/** The audit trail as `list audit` prints it: newest first, times in UTC like every other listing. */
export function auditTable(events: readonly AuditEvent[]): string {
  if (events.length === 0) return 'No audit events.';
  return table(
    ['TIME (UTC)', 'ACTOR', 'INITIATED BY', 'ACTION', 'TARGET', 'PROJECT', 'SOURCE', 'DETAILS'],
    events.map((event) => [
      formatTimestamp(event.time),
      event.actor,
      event.initiatedBy === null ? '-' : truncate(event.initiatedBy, 40),
      event.action,
      formatTarget(event),
      event.project ?? '-',
      event.source ?? '-',
      truncate(formatDetails(event.details), 80),
    ]),
  );
}
