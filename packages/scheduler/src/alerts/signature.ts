import { createHmac } from 'node:crypto';

/**
 * `Tapit-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`, Stripe's
 * scheme: the time is signed with the body, so a receiver that rejects old timestamps cannot be
 * fed a captured delivery again later. docs/schedules.md ("Alerts") shows how to verify it.
 */
export function signatureHeader(secret: string, body: string, unixSeconds: number): string {
  const v1 = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${v1}`;
}
