import type { AlertEvent, Delivery, DeliveryStatus } from '@tapit/protocol';
import { sql, type Kysely } from 'kysely';
import type { Database, WebhookDeliveryRow } from '../db/schema.js';
import { decodeCursor, encodeCursor } from '../db/keyset-cursor.js';
import { DomainError } from '../domain/domain-error.js';

export function toDelivery(row: WebhookDeliveryRow): Delivery {
  return {
    id: row.id,
    scheduleId: row.schedule_id,
    event: row.event as AlertEvent,
    scheduledFor: row.scheduled_for.toISOString(),
    url: row.url,
    status: row.status as DeliveryStatus,
    attempts: row.attempts,
    nextAttemptAt: row.status === 'pending' ? (row.next_attempt_at?.toISOString() ?? null) : null,
    lastStatusCode: row.last_status_code,
    lastError: row.last_error,
    lastResponse: row.last_response,
    history: row.attempt_log,
    body: row.body,
    createdAt: row.created_at.toISOString(),
    deliveredAt: row.delivered_at?.toISOString() ?? null,
  };
}

/** A schedule's deliveries, newest first, keyset-paginated on (created_at, id). */
export async function listDeliveries(db: Kysely<Database>, scheduleId: string, page: { limit: number; cursor?: string }): Promise<{ items: Delivery[]; nextCursor: string | null }> {
  let query = db.selectFrom('webhook_deliveries').selectAll().where('schedule_id', '=', scheduleId);
  if (page.cursor) {
    const id = decodeCursor(page.cursor);
    // Looked up within this schedule only: a cursor from elsewhere reveals nothing.
    const found = await db.selectFrom('webhook_deliveries').select('id').where('id', '=', id).where('schedule_id', '=', scheduleId).executeTakeFirst();
    if (!found) throw new DomainError('VALIDATION_FAILED', 'cursor does not point at a delivery of this schedule (pruned since?): list again without it', 'cursor');
    query = query.where(sql<boolean>`(created_at, id) < (SELECT c.created_at, c.id FROM webhook_deliveries c WHERE c.id = ${id})`);
  }
  const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit + 1).execute();
  const items = rows.slice(0, page.limit);
  return { items: items.map(toDelivery), nextCursor: rows.length > page.limit ? encodeCursor(items[items.length - 1]) : null };
}
