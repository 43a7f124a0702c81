import { WEBHOOK_DELIVERY_HEADER, WEBHOOK_EVENT_HEADER, WEBHOOK_SIGNATURE_HEADER } from '@tapit/protocol';
import type { Kysely } from 'kysely';
import type { ControlPass } from '../agents/control-passes.js';
import { coerceError, describeDatabaseError, isDatabaseUnavailable } from '../db/errors.js';
import type { Database } from '../db/schema.js';
import type { AllowedNetworks } from './allowed-networks.js';
import { claimDueDeliveries, recordAttempt, type ClaimedDelivery, type RetryPolicy } from './delivery-queue.js';
import { signatureHeader } from './signature.js';
import { postWebhook } from './webhook-post.js';
import { webhookOrigin } from './webhooks.js';
import type { Log } from '../log.js';

/** Attempts one replica has out at once; more due deliveries wait for the next pass. */
const MAX_IN_FLIGHT = 16;
/** A claimed attempt's lease lasts its timeout and this much more, so a live sender always records first. */
const LEASE_MARGIN_MS = 20_000;

export interface WebhookSenderOptions extends RetryPolicy {
  db: Kysely<Database>;
  timeoutMs: number;
  networks: AllowedNetworks;
  version: string;
  log: Log;
}

/**
 * Sends due alert deliveries. `pass()` only claims and starts attempts (it never waits for a
 * receiver), so it runs as one pass of the control loop without holding up placement; each
 * attempt records its own outcome when it ends. Every replica runs one: claims never overlap.
 */
export class WebhookSender {
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly options: WebhookSenderOptions) {}

  /** Claims what is due (up to the free slots) and starts sending it; resolves once claimed. */
  async pass(): Promise<void> {
    if (this.closed) return;
    const free = MAX_IN_FLIGHT - this.inFlight.size;
    const claimed = await claimDueDeliveries(this.options.db, { limit: free, leaseMs: this.options.timeoutMs + LEASE_MARGIN_MS });
    for (const delivery of claimed) {
      const sending = this.send(delivery).finally(() => this.inFlight.delete(sending));
      this.inFlight.add(sending);
    }
  }

  private async send(delivery: ClaimedDelivery): Promise<void> {
    const { db, timeoutMs, networks, version, log } = this.options;
    const headers = {
      'User-Agent': `tapit-scheduler/${version}`,
      [WEBHOOK_EVENT_HEADER]: delivery.event,
      [WEBHOOK_DELIVERY_HEADER]: delivery.id,
      [WEBHOOK_SIGNATURE_HEADER]: signatureHeader(delivery.secret, delivery.body, Math.floor(Date.now() / 1000)),
    };
    const outcome = await postWebhook(delivery.url, headers, delivery.body, { timeoutMs, networks });
    // Never the URL's path or query, which may hold the receiver's token.
    if (!outcome.delivered) log(`webhook delivery ${delivery.id} (${delivery.event}) to ${webhookOrigin(delivery.url)}, attempt ${delivery.attempt}: ${outcome.error}`, 'warn');
    try {
      await recordAttempt(db, delivery, outcome, this.options);
    } catch (error) {
      // The lease runs out and the attempt is made again: at least once, never lost.
      log(`webhook delivery ${delivery.id}: its outcome could not be recorded (${isDatabaseUnavailable(error) ? describeDatabaseError(error) : coerceError(error).message}); it is sent again after its lease`, 'warn');
    }
  }

  /** The control loop's pass: claims and starts what is due, never waiting for a receiver. */
  controlPass(): ControlPass {
    return { name: 'webhooks', run: () => this.pass() };
  }

  /** Claims nothing more and waits for the attempts out (each ends within its timeout). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.inFlight]);
  }
}
