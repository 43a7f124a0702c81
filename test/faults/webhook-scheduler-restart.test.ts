/*
 * An alert stored while its receiver is down survives the scheduler being killed (-9): the
 * scheduler started again on the same database sends it once the receiver is up, signed as
 * documented, and the delivery records every attempt, the refused ones and the one that landed.
 */
import { AlertBody, CreatedSchedule, DeliveryList } from '@tapit/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '../support/fuzz/api.js';
import { readUntil } from '../support/read-until.js';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { freePort } from '../support/scheduler.js';
import { startSystem, type System } from '../support/system.js';
import { startWebhookReceiver, verifyTapitSignature } from '../support/webhook-receiver.js';

let system: System;
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>> | undefined;

beforeAll(async () => {
  // Retries 0.2 s apart at first, so the test waits seconds, not minutes, once the receiver is up.
  system = await startSystem({ schedulerEnv: { TAPIT_WEBHOOK_ALLOWED_NETWORKS: 'loopback', TAPIT_WEBHOOK_RETRY_BASE_MS: '200' } });
}, HOOK_TIMEOUT_MS);
afterAll(async () => {
  await receiver?.close();
  await system?.stop();
}, HOOK_TIMEOUT_MS);

const call = (method: string, path: string, body?: unknown) => api(system.scheduler, method, path, body);

const until = <T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean) => readUntil(what, read, ok, { context: () => system.output() });

describe('a webhook receiver down while the scheduler restarts', () => {
  it('gets every alert stored before the kill -9, once it is up, each signed, each attempt recorded', async () => {
    const port = await freePort();
    // Every second a slot; with concurrency=forbid the first one's task runs on, so every later
    // slot is skipped: a run.skipped alert each, to a receiver that is not listening yet.
    const created = await call('POST', '/v1/projects/default/stages/default/apps/web/schedules', {
      cron: '* * * * * *',
      concurrency: 'forbid',
      command: 'sleep 120',
      webhookUrl: `http://127.0.0.1:${port}/hook`,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const schedule = CreatedSchedule.parse(created.body);
    const secret = schedule.webhookSecret!;
    expect(secret).toMatch(/^whsec_[0-9a-f]{64}$/);
    const deliveries = async () => DeliveryList.parse((await call('GET', `/v1/schedules/${schedule.id}/deliveries?limit=100`)).body).items;
    await until('two refused attempts of a skipped slot\'s alert', deliveries, (items) => items.some((d) => d.attempts >= 2));
    expect((await call('POST', `/v1/schedules/${schedule.id}/suspend`)).status).toBe(200);

    await system.restartScheduler(0, 'SIGKILL');
    const stored = await deliveries();
    expect(stored.length).toBeGreaterThanOrEqual(1);
    expect(stored.every((d) => d.status === 'pending' && d.event === 'run.skipped')).toBe(true);
    expect(stored.find((d) => d.attempts >= 2)!.history[0]!.error).toMatch(/ECONNREFUSED/);

    receiver = await startWebhookReceiver({ port });
    const settled = await until('every stored alert delivered', deliveries, (items) => items.filter((d) => stored.some((s) => s.id === d.id)).every((d) => d.status === 'delivered'));
    for (const delivery of settled.filter((d) => stored.some((s) => s.id === d.id))) {
      // At least once: each arrived, and what arrived is exactly what was stored before the kill.
      const arrived = receiver.received.filter((r) => r.headers['tapit-delivery'] === delivery.id);
      expect(arrived.length, delivery.id).toBeGreaterThanOrEqual(1);
      for (const request of arrived) {
        expect(request.body).toBe(delivery.body);
        expect(request.headers['tapit-event']).toBe('run.skipped');
        expect(verifyTapitSignature(secret, request.body, String(request.headers['tapit-signature']))).toBe(true);
      }
      const body = AlertBody.parse(JSON.parse(arrived[0]!.body));
      expect(body).toMatchObject({ event: 'run.skipped', deliveryId: delivery.id, outcome: 'skipped', schedule: { id: schedule.id, app: 'web' } });
      expect(body.reason).toContain('concurrency=forbid');
      // The refused attempts before the restart, then the one that landed.
      expect(delivery.history.at(-1)).toMatchObject({ statusCode: 200, error: null });
      expect(delivery.history.slice(0, -1).every((a) => a.statusCode === null)).toBe(true);
      expect(delivery.lastResponse).toBe('received');
    }

    // The CLI shows them delivered, the refused attempts under each.
    const listed = await system.tapit('list', 'deliveries', `schedule=${schedule.id}`);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^${stored[0]!.id.slice(0, 12)}\\s+run\\.skipped\\s+\\S+ \\S+\\s+delivered\\s+1\\s+\\S+ \\S+\\s+-\\s+connect ECONNREFUSED`, 'm'));
    expect(listed.stdout).toMatch(/^\s+\d+\s+\S+ \S+\s+200$/m);
  });
});
