import type { Delivery } from '@tapit/protocol';
import { describe, expect, it } from 'vitest';
import { deliveryTable } from './delivery-output.js';

const delivered: Delivery = {
  id: '5e0c2b8a9d1f4e3b7a6c5d4e3f2a1b0c',
  scheduleId: '9c1b7e2a4d6f80135a7c9e1b3d5f7a9c',
  event: 'run.failed',
  scheduledFor: '2021-03-17T01:30:00.000Z',
  url: 'https://alerts.example.com/tapit',
  status: 'delivered',
  attempts: 2,
  nextAttemptAt: null,
  lastStatusCode: 200,
  lastError: null,
  lastResponse: 'ok',
  history: [
    { attempt: 1, at: '2021-03-17T09:59:02.771Z', statusCode: 500, error: 'the receiver answered 500' },
    { attempt: 2, at: '2021-03-17T09:59:14.100Z', statusCode: 200, error: null },
  ],
  body: '{}',
  createdAt: '2021-03-17T09:59:02.700Z',
  deliveredAt: '2021-03-17T09:59:14.200Z',
};
const pending: Delivery = {
  ...delivered,
  id: '0e4fd1a2b3c4d5e6f708192a3b4c5d6e',
  event: 'run.skipped',
  scheduledFor: '2021-03-17T01:40:00.000Z',
  status: 'pending',
  attempts: 1,
  nextAttemptAt: '2021-03-17T10:00:12.000Z',
  lastStatusCode: null,
  lastError: 'connect ECONNREFUSED 203.0.113.7:443',
  history: [{ attempt: 1, at: '2021-03-17T10:00:02.000Z', statusCode: null, error: 'connect ECONNREFUSED 203.0.113.7:443' }],
  deliveredAt: null,
};

describe('deliveryTable', () => {
  it('shows each attempt under its delivery, with the answer or the error, and when a pending one is tried next', () => {
    expect(deliveryTable([pending, delivered])).toBe(
      [
        'DELIVERY      EVENT        SLOT (UTC)           STATUS     ATTEMPT  AT (UTC)             ANSWER  ERROR',
        '0e4fd1a2b3c4  run.skipped  2021-03-17 01:40:00  pending    1        2021-03-17 10:00:02  -       connect ECONNREFUSED 203.0.113.7:443',
        '                                                           next     2021-03-17 10:00:12',
        '5e0c2b8a9d1f  run.failed   2021-03-17 01:30:00  delivered  1        2021-03-17 09:59:02  500     the receiver answered 500',
        '                                                           2        2021-03-17 09:59:14  200',
      ].join('\n'),
    );
  });

  it('shows a delivery not tried yet, and says when there is none', () => {
    const fresh = { ...pending, attempts: 0, history: [], lastError: null, nextAttemptAt: '2021-03-17T10:00:00.000Z' };
    expect(deliveryTable([fresh]).split('\n')[1]).toBe('0e4fd1a2b3c4  run.skipped  2021-03-17 01:40:00  pending  next     2021-03-17 10:00:00');
    expect(deliveryTable([])).toBe('No alerts sent for this schedule yet.');
  });
});
