import type { AuditEvent } from '@tapit/protocol';
import { auditListing } from '@tapit/protocol/format';
import { listingTable } from './output.js';

export { formatDetails, formatTarget } from '@tapit/protocol/format';

/** The audit trail as `list audit` prints it: newest first, times in UTC like every other listing. */
export function auditTable(events: readonly AuditEvent[]): string {
  if (events.length === 0) return 'No audit events.';
  return listingTable(auditListing(events));
}
