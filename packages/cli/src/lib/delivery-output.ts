import type { Delivery } from '@tapit/protocol';
import { formatTimestamp, table, truncate } from './output.js';

/**
 * One row per attempt of each delivery, newest delivery first: the delivery's own cells on its
 * first row, then its other attempts under it, and `next` with the time of the next attempt
 * while it is pending.
 */
export function deliveryTable(deliveries: readonly Delivery[]): string {
  if (deliveries.length === 0) return 'No alerts sent for this schedule yet.';
  const rows = deliveries.flatMap((d) => {
    const attempts: [string, string, string, string][] = d.history.map((a) => [String(a.attempt), formatTimestamp(a.at), a.statusCode === null ? '-' : String(a.statusCode), truncate(a.error ?? '', 100)]);
    if (d.status === 'pending' && d.nextAttemptAt !== null) attempts.push(['next', formatTimestamp(d.nextAttemptAt), '', '']);
    if (attempts.length === 0) attempts.push(['-', '-', '-', d.lastError === null ? '' : truncate(d.lastError, 100)]);
    return attempts.map((attempt, index) => (index === 0 ? [d.id.slice(0, 12), d.event, formatTimestamp(d.scheduledFor), d.status, ...attempt] : ['', '', '', '', ...attempt]));
  });
  return table(['DELIVERY', 'EVENT', 'SLOT (UTC)', 'STATUS', 'ATTEMPT', 'AT (UTC)', 'ANSWER', 'ERROR'], rows);
}
