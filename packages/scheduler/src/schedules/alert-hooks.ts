import type { ScheduleRunTrigger } from '@tapit/protocol';
import type { Transaction } from 'kysely';
import type { Database } from '../db/schema.js';

/*
 * Where alerts (issue 10, item 6: webhooks) plug into schedules. Both run in the transaction of
 * the change they follow, so a delivery stored here commits with it (at least once, surviving a
 * restart). Until alerts exist they store and send nothing.
 */

/** A schedule's webhook as given at its creation: what the answer shows, and the secret, shown this once. */
export interface ScheduleWebhook {
  webhookUrl: string | null;
  webhookSecret: string | null;
}

/** Stores the webhook of a schedule being created (`url` as the request gave it, undefined if none). */
export async function configureScheduleWebhook(_trx: Transaction<Database>, _scheduleId: string, _url: string | undefined): Promise<ScheduleWebhook> {
  return { webhookUrl: null, webhookSecret: null };
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

/** Called by settleRun for every outcome change (failed, skipped or missed, first success after failures…). */
export async function alertOnRunOutcome(_trx: Transaction<Database>, _change: RunOutcomeChange): Promise<void> {}
