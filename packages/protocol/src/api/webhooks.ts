import { z } from 'zod';
import { Name, TaskId, Timestamp } from '../common/ids.js';
import { ScheduleId, ScheduleRunAttempt, ScheduleRunOutcome, ScheduleRunTrigger } from './schedules.js';

/*
 * Alerts: a schedule's failed, skipped and recovered runs, POSTed as signed JSON to a webhook
 * (the schedule's own, else its app's default). docs/schedules.md ("Alerts") documents the body,
 * the headers and how to verify the signature.
 */

/** Where alerts go: an http(s) URL. */
export const WebhookUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).max(2000, 'must be at most 2000 characters');

/**
 * `run.failed`: a slot's last attempt ended other than EXITED 0 or USER_STOPPED;
 * `run.skipped`: a slot never ran (concurrency=forbid, or missed while no scheduler ran: `reason` says which);
 * `run.recovered`: the first success after runs that failed or were skipped.
 */
export const AlertEvent = z.enum(['run.failed', 'run.skipped', 'run.recovered']);
export type AlertEvent = z.infer<typeof AlertEvent>;

/** Request headers of every delivery. */
export const WEBHOOK_EVENT_HEADER = 'Tapit-Event';
export const WEBHOOK_DELIVERY_HEADER = 'Tapit-Delivery';
/** `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`. */
export const WEBHOOK_SIGNATURE_HEADER = 'Tapit-Signature';

/** The JSON body POSTed to a webhook. */
export const AlertBody = z.object({
  event: AlertEvent,
  /** The same as the `Tapit-Delivery` header: a retried delivery keeps it, so a receiver can drop repeats. */
  deliveryId: TaskId,
  schedule: z.object({ id: ScheduleId, project: Name, stage: Name, app: Name, cron: z.string(), timezone: z.string() }),
  /** The slot: its cron time, or the instant of a manual trigger. */
  scheduledFor: Timestamp,
  trigger: ScheduleRunTrigger,
  outcome: ScheduleRunOutcome,
  /** Why the slot failed or was skipped, in words (`missed: no scheduler ran at …`, `… (concurrency=forbid)`). */
  reason: z.string().nullable(),
  /** The slot's tasks: the first run, then each retry (none for a skipped slot). */
  attempts: z.array(ScheduleRunAttempt),
  /** What to type to look closer: `tapit show task task=<last attempt>`, or `tapit show schedule …` for a skipped slot. */
  hint: z.string(),
  /** When the outcome was settled. */
  at: Timestamp,
});
export type AlertBody = z.infer<typeof AlertBody>;

/** `PUT …/apps/:app/webhook`, `PUT /v1/schedules/:id/webhook`: set or replace a webhook (a new secret each time). */
export const SetWebhookRequest = z.strictObject({ url: WebhookUrl });
export type SetWebhookRequest = z.infer<typeof SetWebhookRequest>;

/** A webhook as it is shown: never its secret. */
export const Webhook = z.object({
  url: z.string(),
  /** The API token that set it. */
  setBy: z.string(),
  setAt: Timestamp,
});
export type Webhook = z.infer<typeof Webhook>;

/** The answer to setting a webhook: the signing secret, shown this once and never again. */
export const CreatedWebhook = Webhook.extend({ secret: z.string() });
export type CreatedWebhook = z.infer<typeof CreatedWebhook>;

/** pending: waiting for its next attempt; delivered: a 2xx came back; failed: given up after the retry window. */
export const DeliveryStatus = z.enum(['pending', 'delivered', 'failed']);
export type DeliveryStatus = z.infer<typeof DeliveryStatus>;

/** One POST of a delivery and how it ended. */
export const DeliveryAttempt = z.object({
  attempt: z.number().int().min(1),
  at: Timestamp,
  /** The receiver's HTTP status; null when none came (refused, timed out, not allowed). */
  statusCode: z.number().int().nullable(),
  /** Why the attempt did not count as delivered; null for a 2xx. */
  error: z.string().nullable(),
});
export type DeliveryAttempt = z.infer<typeof DeliveryAttempt>;

export const Delivery = z.object({
  id: TaskId,
  scheduleId: ScheduleId,
  event: AlertEvent,
  scheduledFor: Timestamp,
  /** Where the last attempt went (the webhook that applied then), or will go. */
  url: z.string(),
  status: DeliveryStatus,
  attempts: z.number().int().min(0),
  /** While pending: the earliest time of the next attempt. */
  nextAttemptAt: Timestamp.nullable(),
  lastStatusCode: z.number().int().nullable(),
  lastError: z.string().nullable(),
  /** The start of the last answer's body (at most 1024 characters). */
  lastResponse: z.string().nullable(),
  /** Each attempt, oldest first (the latest 50). */
  history: z.array(DeliveryAttempt),
  /** The body as sent (`AlertBody`, signed as these exact bytes). */
  body: z.string(),
  createdAt: Timestamp,
  deliveredAt: Timestamp.nullable(),
});
export type Delivery = z.infer<typeof Delivery>;

export const DeliveryList = z.object({ items: z.array(Delivery), nextCursor: z.string().nullable() });
export type DeliveryList = z.infer<typeof DeliveryList>;

export const ListDeliveriesQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
});
export type ListDeliveriesQuery = z.input<typeof ListDeliveriesQuery>;
