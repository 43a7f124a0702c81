import { sql, type Kysely } from 'kysely';
import type { Database, DeliveryAttemptEntry } from '../db/schema.js';
import type { PostOutcome } from './webhook-post.js';
import { webhookTargets } from './webhooks.js';

/** Attempts kept in `attempt_log` per delivery (24 h of retries at the default backoff is 32). */
export const ATTEMPTS_LOGGED = 50;
/** The longest wait between two attempts. */
export const MAX_RETRY_DELAY_MS = 3600_000;

export interface RetryPolicy {
  /** The wait after the first failed attempt; it doubles after each further one, up to an hour. */
  retryBaseMs: number;
  /** No attempt starts later than this after the delivery was stored: then it is `failed`. */
  retryForSeconds: number;
}

/** An attempt this replica has claimed and must now send. */
export interface ClaimedDelivery {
  id: string;
  /** This attempt's number (1 for the first). */
  attempt: number;
  event: string;
  body: string;
  url: string;
  secret: string;
}

/**
 * Claims up to `limit` due deliveries for one attempt each. The rows are taken with `SKIP
 * LOCKED`, so replicas never claim the same attempt, and leased: `next_attempt_at` moves to the
 * end of the lease, after which another replica (or this one, restarted) tries again if no
 * outcome was recorded — the attempt of a replica that died mid-send is counted and noted as lost.
 * A delivery no webhook applies to any more (removed since) is given up at once.
 */
export async function claimDueDeliveries(db: Kysely<Database>, options: { limit: number; leaseMs: number }): Promise<ClaimedDelivery[]> {
  if (options.limit <= 0) return [];
  return db.transaction().execute(async (trx) => {
    const due = await trx
      .selectFrom('webhook_deliveries')
      .select(['id', 'schedule_id', 'event', 'body', 'attempts', 'sending_since', 'attempt_log'])
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', sql<Date>`now()`)
      .orderBy('next_attempt_at')
      .limit(options.limit)
      .forUpdate()
      .skipLocked()
      .execute();
    if (due.length === 0) return [];
    const targets = await webhookTargets(trx, due.map((d) => d.schedule_id));
    const claimed: ClaimedDelivery[] = [];
    for (const row of due) {
      const log = [...row.attempt_log];
      if (row.sending_since !== null) {
        log.push({ attempt: row.attempts, at: row.sending_since.toISOString(), statusCode: null, error: 'no outcome recorded: the scheduler sending it stopped or lost its database first' });
      }
      const target = targets.get(row.schedule_id);
      if (!target) {
        await trx
          .updateTable('webhook_deliveries')
          .set({ status: 'failed', next_attempt_at: null, sending_since: null, last_error: 'no webhook applies to the schedule any more (removed)', attempt_log: JSON.stringify(log.slice(-ATTEMPTS_LOGGED)) })
          .where('id', '=', row.id)
          .execute();
        continue;
      }
      await trx
        .updateTable('webhook_deliveries')
        .set({
          attempts: row.attempts + 1,
          url: target.url,
          sending_since: sql<Date>`now()`,
          next_attempt_at: sql<Date>`now() + ${options.leaseMs / 1000} * interval '1 second'`,
          attempt_log: JSON.stringify(log.slice(-ATTEMPTS_LOGGED)),
        })
        .where('id', '=', row.id)
        .execute();
      claimed.push({ id: row.id, attempt: row.attempts + 1, event: row.event, body: row.body, url: target.url, secret: target.secret });
    }
    return claimed;
  });
}

/** The wait after failed attempt `attempt`: base, doubling, at most an hour. */
export function retryDelayMs(attempt: number, retryBaseMs: number): number {
  return Math.min(retryBaseMs * 2 ** Math.min(attempt - 1, 40), MAX_RETRY_DELAY_MS);
}

/**
 * Records how a claimed attempt went: delivered on a 2xx (whichever attempt it was); otherwise,
 * if this is still the delivery's latest attempt, the next one is due after the backoff, or the
 * delivery is `failed` when that would start past the retry window.
 */
export async function recordAttempt(db: Kysely<Database>, claimed: ClaimedDelivery, outcome: PostOutcome, policy: RetryPolicy): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('webhook_deliveries')
      .select(['status', 'attempts', 'sending_since', 'attempt_log'])
      .where('id', '=', claimed.id)
      .forUpdate()
      .executeTakeFirst();
    // Gone (pruned, schedule deleted), or settled by another attempt meanwhile.
    if (!row || row.status !== 'pending') return;
    const latest = row.attempts === claimed.attempt;
    if (!outcome.delivered && !latest) return;
    const entry: DeliveryAttemptEntry = {
      attempt: claimed.attempt,
      at: (latest && row.sending_since ? row.sending_since : new Date()).toISOString(),
      statusCode: outcome.statusCode,
      error: outcome.error,
    };
    const answer = { last_status_code: outcome.statusCode, last_error: outcome.error, last_response: outcome.response, attempt_log: JSON.stringify([...row.attempt_log, entry].slice(-ATTEMPTS_LOGGED)) };
    if (outcome.delivered) {
      await trx
        .updateTable('webhook_deliveries')
        .set({ ...answer, status: 'delivered', next_attempt_at: null, sending_since: null, delivered_at: sql<Date>`now()` })
        .where('id', '=', claimed.id)
        .execute();
      return;
    }
    const delaySeconds = retryDelayMs(claimed.attempt, policy.retryBaseMs) / 1000;
    const givesUp = sql<boolean>`now() + ${delaySeconds} * interval '1 second' > created_at + ${policy.retryForSeconds} * interval '1 second'`;
    await trx
      .updateTable('webhook_deliveries')
      .set({
        ...answer,
        sending_since: null,
        status: sql<string>`CASE WHEN ${givesUp} THEN 'failed' ELSE 'pending' END`,
        next_attempt_at: sql<Date | null>`CASE WHEN ${givesUp} THEN NULL ELSE now() + ${delaySeconds} * interval '1 second' END`,
      })
      .where('id', '=', claimed.id)
      .execute();
  });
}
