import { describe, expect, it } from 'vitest';
import { alertBody } from '../testing/examples.js';
import { rejectedFields, without } from '../testing/wire.js';
import { AlertBody, Delivery, ListDeliveriesQuery, SetWebhookRequest } from './webhooks.js';

describe('webhooks', () => {
  it.each([
    ['url', SetWebhookRequest, { url: 'ftp://alerts.example.com' }],
    ['url', SetWebhookRequest, { url: 'alerts.example.com/tapit' }],
    ['url', SetWebhookRequest, { url: `https://alerts.example.com/${'a'.repeat(2000)}` }],
    ['secret', SetWebhookRequest, { url: 'https://alerts.example.com', secret: 'whsec_mine' }],
    ['event', AlertBody, { ...alertBody, event: 'run.started' }],
    ['deliveryId', AlertBody, without(alertBody, 'deliveryId')],
    ['schedule.timezone', AlertBody, { ...alertBody, schedule: without(alertBody.schedule, 'timezone') }],
    ['attempts.0.taskId', AlertBody, { ...alertBody, attempts: [{ ...alertBody.attempts[0], taskId: 'x' }] }],
    ['limit', ListDeliveriesQuery, { limit: '101' }],
    ['since', ListDeliveriesQuery, { since: 'yesterday' }],
  ])('%s is to blame (case %#)', (field, schema, value) => {
    expect(rejectedFields(schema, value)).toEqual([field]);
  });

  it('pages deliveries 20 at a time unless asked', () => {
    expect(ListDeliveriesQuery.parse({})).toEqual({ limit: 20 });
    expect(ListDeliveriesQuery.parse({ limit: '100', cursor: 'abc' })).toEqual({ limit: 100, cursor: 'abc' });
  });

  it('knows the three delivery statuses only', () => {
    expect(Delivery.shape.status.options).toEqual(['pending', 'delivered', 'failed']);
  });
});
