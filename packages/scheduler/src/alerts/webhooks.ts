import { randomBytes } from 'node:crypto';
import type { CreatedWebhook, Webhook } from '@tapit/protocol';
import { sql, type Kysely } from 'kysely';
import type { Database, WebhookRow } from '../db/schema.js';

/** Whose webhook: a schedule's own, or an app's default for its schedules without one. */
export type WebhookOwner = { scheduleId: string } | { appId: number };

/** Where a delivery goes now, and the key that signs it. */
export interface WebhookTarget {
  url: string;
  secret: string;
}

/** `whsec_` and 32 random bytes in hex: the HMAC key, shown once to whoever set the webhook. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('hex')}`;
}

/** The scheme, host and port of a webhook URL: what audit events and logs name (a path or query may hold a token). */
export function webhookOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(not a URL)';
  }
}

const toWebhook = (row: Pick<WebhookRow, 'url' | 'set_by' | 'set_at'>): Webhook => ({ url: row.url, setBy: row.set_by, setAt: row.set_at.toISOString() });

/**
 * Sets or replaces the owner's webhook with a new secret, in the caller's transaction. The answer
 * is the only place the secret is ever shown.
 */
export async function setWebhook(db: Kysely<Database>, owner: WebhookOwner, url: string, setBy: string): Promise<CreatedWebhook> {
  const secret = newWebhookSecret();
  const values = { url, secret, set_by: setBy, set_at: sql<Date>`now()` };
  const insert = db.insertInto('webhooks').values('scheduleId' in owner ? { ...values, schedule_id: owner.scheduleId } : { ...values, app_id: owner.appId });
  const row = await insert
    .onConflict((oc) => oc.column('scheduleId' in owner ? 'schedule_id' : 'app_id').doUpdateSet(values))
    .returning(['url', 'set_by', 'set_at'])
    .executeTakeFirstOrThrow();
  return { ...toWebhook(row), secret };
}

/** Removes the owner's webhook; false when it had none. Pending deliveries then go to whatever webhook still applies. */
export async function removeWebhook(db: Kysely<Database>, owner: WebhookOwner): Promise<boolean> {
  const query = db.deleteFrom('webhooks');
  const result = await ('scheduleId' in owner ? query.where('schedule_id', '=', owner.scheduleId) : query.where('app_id', '=', owner.appId)).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** The owner's webhook as shown (never the secret), or null. */
export async function findWebhook(db: Kysely<Database>, owner: WebhookOwner): Promise<Webhook | null> {
  const query = db.selectFrom('webhooks').select(['url', 'set_by', 'set_at']);
  const row = await ('scheduleId' in owner ? query.where('schedule_id', '=', owner.scheduleId) : query.where('app_id', '=', owner.appId)).executeTakeFirst();
  return row ? toWebhook(row) : null;
}

/** The webhook that applies to each schedule: its own, else its app's; a schedule with neither is absent. */
function applyingWebhooks(db: Kysely<Database>) {
  return db
    .selectFrom('schedules as s')
    .leftJoin('webhooks as own', 'own.schedule_id', 's.id')
    .leftJoin('webhooks as dflt', 'dflt.app_id', 's.app_id')
    .select([
      's.id as schedule_id',
      sql<string | null>`CASE WHEN own.id IS NOT NULL THEN own.url ELSE dflt.url END`.as('url'),
      sql<string | null>`CASE WHEN own.id IS NOT NULL THEN own.secret ELSE dflt.secret END`.as('secret'),
    ]);
}

/** Where each schedule's alerts go now, with the key that signs them; a schedule no webhook applies to is absent. */
export async function webhookTargets(db: Kysely<Database>, scheduleIds: readonly string[]): Promise<Map<string, WebhookTarget>> {
  if (scheduleIds.length === 0) return new Map();
  const rows = await applyingWebhooks(db).where('s.id', 'in', [...new Set(scheduleIds)]).execute();
  return new Map(rows.flatMap((r) => (r.url !== null && r.secret !== null ? [[r.schedule_id, { url: r.url, secret: r.secret }] as const] : [])));
}

/** For the schedules' views (`Schedule.webhookUrl`): where each one's alerts go, its own webhook or its app's. */
export async function webhookUrlsOf(db: Kysely<Database>, scheduleIds: readonly string[]): Promise<Map<string, string>> {
  const targets = await webhookTargets(db, scheduleIds);
  return new Map([...targets].map(([id, target]) => [id, target.url]));
}
