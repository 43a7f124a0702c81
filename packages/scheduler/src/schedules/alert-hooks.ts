import type { ScheduleRunTrigger } from '@tapit/protocol';
import type { Transaction } from 'kysely';
import { alertEventFor, enqueueScheduleAlert } from '../alerts/enqueue-alert.js';
import { setWebhook } from '../alerts/webhooks.js';
import type { Database } from '../db/schema.js';

/*
 * Where alerts (alerts/, docs/schedules.md "Alerts") plug into schedules. Both run in the
 * transaction of the change they follow, so a delivery stored here commits with it (at least
 * once, surviving a restart).
 */

/** A schedule's webhook as given at its creation: what the answer shows, and the secret, shown this once. */
export interface ScheduleWebhook {
  webhookUrl: string | null;
  webhookSecret: string | null;
}

/** Stores the webhook of a schedule being created (`url` as the request gave it, undefined if none). */
export async function configureScheduleWebhook(trx: Transaction<Database>, scheduleId: string, url: string | undefined, setBy: string): Promise<ScheduleWebhook> {
  if (url === undefined) return { webhookUrl: null, webhookSecret: null };
  const webhook = await setWebhook(trx, { scheduleId }, url, setBy);
  return { webhookUrl: webhook.url, webhookSecret: webhook.secret };
}

/** A slot's outcome as it changed: what an alert would tell. */
export interface RunOutcomeChange {
  scheduleId: string;
  scheduledFor: Date;
  trigger: ScheduleRunTrigger;
  outcome: 'retrying' | 'succeeded' | 'stopped' | 'failed' | 'skipped';
  reason: string | null;
  /** Skipped because no scheduler fired it in time (not by a policy such as concurrency=forbid). */
  missed: boolean;
  /** Tasks created for the slot so far. */
  attempts: number;
  /** Before this change the schedule was failing: with `succeeded`, the first success after failures. */
  wasFailing: boolean;
}

/** Called by settleRun for every outcome change: stores the alert it calls for, if a webhook applies. */
export async function alertOnRunOutcome(trx: Transaction<Database>, change: RunOutcomeChange): Promise<void> {
  const event = alertEventFor(change);
  if (event !== null) await enqueueScheduleAlert(trx, { scheduleId: change.scheduleId, scheduledFor: change.scheduledFor, event });
}
