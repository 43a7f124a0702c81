import { createHmac, timingSafeEqual } from 'node:crypto';
import { AlertBody, DeliveryList } from '@tapit/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { settleFinishedRuns } from '../schedules/run-outcomes.js';
import { settleRun } from '../schedules/settle-run.js';
import { eventually } from '../testing/eventually.js';
import { endTask } from '../testing/schedules.js';
import { APP_PATH, createTestApp } from '../testing/test-app.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../testing/test-database.js';
import { startWebhookReceiver, type ReceiverAnswer } from '../testing/webhook-receiver.js';
import { AllowedNetworks } from './allowed-networks.js';
import { claimDueDeliveries } from './delivery-queue.js';
import { alertEventFor, enqueueScheduleAlert } from './enqueue-alert.js';
import { WebhookSender } from './webhook-sender.js';

/** The receiver's check, as docs/schedules.md ("Alerts") gives it to users: copied, not imported. */
function verifyTapitSignature(secret: string, rawBody: string, header: string, toleranceSeconds = 300): boolean {
  const parts = Object.fromEntries(header.split(',').map((p) => p.split('=', 2)));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || Math.abs(Date.now() / 1000 - t) > toleranceSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${parts.t}.${rawBody}`).digest();
  const given = Buffer.from(parts.v1 ?? '', 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

describe.each(DATABASE_KINDS)('webhook deliveries on %s', (kind) => {
  let database: TestDatabase;
  let call: Awaited<ReturnType<typeof createTestApp>>['call'];
  const receivers: Awaited<ReturnType<typeof startWebhookReceiver>>[] = [];
  const logged: string[] = [];
  let slotMinutes = 0;
  /** A slot of its own for every skipped run of the file. */
  const nextSlot = () => new Date(Date.UTC(2030, 0, 1) + ++slotMinutes * 60_000);

  const sender = (overrides: Partial<ConstructorParameters<typeof WebhookSender>[0]> = {}) =>
    new WebhookSender({ db: database.db, timeoutMs: 2000, retryBaseMs: 50, retryForSeconds: 3600, networks: new AllowedNetworks('loopback'), version: 'test', log: (line) => logged.push(line), ...overrides });

  const receiver = async (answers: ReceiverAnswer[] = []) => {
    const started = await startWebhookReceiver(answers);
    receivers.push(started);
    return started;
  };

  const deliveries = async (scheduleId: string) => DeliveryList.parse((await call('GET', `/v1/schedules/${scheduleId}/deliveries`)).body).items;

  /** A schedule (that never fires on its own during the test) created through the API. */
  const createSchedule = async (webhookUrl?: string) => {
    const created = await call('POST', `${APP_PATH}/web/schedules`, { cron: '@yearly', command: 'exit 3', ...(webhookUrl ? { webhookUrl } : {}) });
    expect(created.status).toBe(201);
    return { scheduleId: created.body.id as string, secret: created.body.webhookSecret as string | null };
  };
  const scheduleWithWebhook = async (url: string) => {
    const { scheduleId, secret } = await createSchedule(url);
    return { scheduleId, secret: secret! };
  };

  /** A run through the engine: triggered, its task ended as given, settled (which stores the alert). */
  const run = async (scheduleId: string, stopCode: 'EXITED' | 'USER_STOPPED' = 'EXITED', exitCode: number | null = 3) => {
    const triggered = await call('POST', `/v1/schedules/${scheduleId}/trigger`);
    expect(triggered.status).toBe(201);
    await endTask(database.db, triggered.body.taskId, stopCode, exitCode);
    await settleFinishedRuns(database.db, 1000);
    return { scheduleId, scheduledFor: new Date(triggered.body.scheduledFor), taskId: triggered.body.taskId as string, event: 'run.failed' as const };
  };
  const failedRun = (scheduleId: string) => run(scheduleId);

  /** A slot the engine records as skipped (missed), as the firing pass does. */
  const skippedRun = async (scheduleId: string, reason = 'missed: not fired within 30 s of its time (missed=skip)') => {
    const scheduledFor = nextSlot();
    await database.db.transaction().execute((trx) => settleRun(trx, { scheduleId, scheduledFor, trigger: 'cron' }, { outcome: 'skipped', reason, missed: true }, { fresh: true }));
    return { scheduleId, scheduledFor, event: 'run.skipped' as const };
  };

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    ({ call } = await createTestApp(database));
    await call('POST', APP_PATH, { name: 'web', image: 'busybox' });
  });
  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });
  afterAll(() => database.drop());

  it('POSTs a failed run, signed as documented, with the event and delivery id in headers and body', async () => {
    const target = await receiver();
    const { scheduleId, secret } = await scheduleWithWebhook(target.url);
    const run = await failedRun(scheduleId);
    // Settling the run stored the alert, in the engine's transaction.
    const [stored] = await deliveries(scheduleId);
    expect(stored).toMatchObject({ event: 'run.failed', status: 'pending', attempts: 0, scheduledFor: run.scheduledFor.toISOString() });
    const id = stored!.id;

    const sending = sender();
    await eventually(async () => (await sending.pass(), target.received.length === 1), 'the receiver got the delivery');
    await sending.close();
    const [request] = target.received;
    expect(request.method).toBe('POST');
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['tapit-event']).toBe('run.failed');
    expect(request.headers['tapit-delivery']).toBe(id);
    expect(verifyTapitSignature(secret, request.body, String(request.headers['tapit-signature']))).toBe(true);
    expect(verifyTapitSignature(secret, `${request.body} `, String(request.headers['tapit-signature']))).toBe(false);
    expect(verifyTapitSignature('whsec_other', request.body, String(request.headers['tapit-signature']))).toBe(false);

    const body = AlertBody.parse(JSON.parse(request.body));
    expect(body).toMatchObject({
      event: 'run.failed',
      deliveryId: id,
      schedule: { id: scheduleId, project: 'default', stage: 'default', app: 'web', cron: '@yearly', timezone: 'UTC' },
      scheduledFor: run.scheduledFor.toISOString(),
      outcome: 'failed',
      reason: `task ${run.taskId} (attempt 1) ended EXITED (exit code 3)`,
      attempts: [{ attempt: 1, taskId: run.taskId, stopCode: 'EXITED', exitCode: 3 }],
      hint: `tapit show task task=${run.taskId}`,
    });
    await eventually(async () => (await deliveries(scheduleId))[0]?.status === 'delivered', 'the delivery is recorded as delivered');
    expect((await deliveries(scheduleId))[0]).toMatchObject({ id, attempts: 1, lastStatusCode: 200, lastError: null, lastResponse: 'ok', body: request.body, nextAttemptAt: null });
  });

  it('retries a receiver answering 500, then records both attempts once it answers 200', async () => {
    const target = await receiver([{ status: 500, body: 'database is down' }, { status: 200, body: 'thanks' }]);
    const { scheduleId } = await scheduleWithWebhook(target.url);
    await failedRun(scheduleId);
    const id = (await deliveries(scheduleId))[0]!.id;

    const sending = sender();
    await eventually(async () => (await sending.pass(), (await deliveries(scheduleId))[0]?.status === 'delivered'), 'delivered on the second attempt');
    await sending.close();
    expect(target.received).toHaveLength(2);
    expect(target.received.map((r) => r.headers['tapit-delivery'])).toEqual([id, id]);
    // The same body both times: a receiver can drop the repeat by its delivery id.
    expect(target.received[1].body).toBe(target.received[0].body);
    const [delivery] = await deliveries(scheduleId);
    expect(delivery).toMatchObject({ attempts: 2, lastStatusCode: 200, lastError: null, lastResponse: 'thanks' });
    expect(delivery.history).toMatchObject([
      { attempt: 1, statusCode: 500, error: 'the receiver answered 500' },
      { attempt: 2, statusCode: 200, error: null },
    ]);
  });

  it('keeps retrying a receiver that is down, then delivers once it is up', async () => {
    const gone = await receiver();
    const url = gone.url;
    await gone.close();
    const { scheduleId } = await scheduleWithWebhook(url);
    await failedRun(scheduleId);
    const sending = sender();
    await eventually(async () => (await sending.pass(), ((await deliveries(scheduleId))[0]?.attempts ?? 0) >= 2), 'two refused attempts');
    const [refused] = await deliveries(scheduleId);
    expect(refused).toMatchObject({ status: 'pending', lastStatusCode: null });
    expect(refused.lastError).toMatch(/ECONNREFUSED/);
    expect(refused.nextAttemptAt).not.toBeNull();

    const target = await receiver();
    await call('PUT', `/v1/schedules/${scheduleId}/webhook`, { url: target.url });
    await eventually(async () => (await sending.pass(), (await deliveries(scheduleId))[0]?.status === 'delivered'), 'delivered once the receiver is up', 20_000);
    await sending.close();
    expect(target.received).toHaveLength(1);
  });

  it('treats a redirect as a failure and never follows it', async () => {
    const elsewhere = await receiver();
    const target = await receiver([{ status: 302, headers: { location: elsewhere.url } }]);
    const { scheduleId } = await scheduleWithWebhook(target.url);
    await failedRun(scheduleId);
    const sending = sender();
    await eventually(async () => (await sending.pass(), ((await deliveries(scheduleId))[0]?.attempts ?? 0) >= 1 && (await deliveries(scheduleId))[0].history.length >= 1), 'one attempt recorded');
    await sending.close();
    const [delivery] = await deliveries(scheduleId);
    expect(delivery).toMatchObject({ status: 'pending', lastStatusCode: 302 });
    expect(delivery.lastError).toContain(`a redirect to ${elsewhere.url}: redirects are not followed`);
    expect(elsewhere.received).toHaveLength(0);
  });

  it('gives up after the retry window: failed, with every attempt recorded', async () => {
    const target = await receiver([{ status: 503 }]);
    const { scheduleId } = await scheduleWithWebhook(target.url);
    await failedRun(scheduleId);
    const sending = sender({ retryBaseMs: 100, retryForSeconds: 1 });
    await eventually(async () => (await sending.pass(), (await deliveries(scheduleId))[0]?.status === 'failed'), 'given up');
    await sending.close();
    const [delivery] = await deliveries(scheduleId);
    expect(delivery.attempts).toBeGreaterThanOrEqual(2);
    expect(delivery.history).toHaveLength(delivery.attempts);
    expect(delivery.history.every((a) => a.statusCode === 503)).toBe(true);
    expect(delivery.nextAttemptAt).toBeNull();
    const attemptsAtGivingUp = target.received.length;
    await sender().pass();
    expect(target.received).toHaveLength(attemptsAtGivingUp);
  });

  it('ends an attempt the receiver never answers at the timeout', async () => {
    const target = await receiver(['hang']);
    const { scheduleId } = await scheduleWithWebhook(target.url);
    await failedRun(scheduleId);
    const sending = sender({ timeoutMs: 300 });
    await eventually(async () => (await sending.pass(), ((await deliveries(scheduleId))[0]?.history.length ?? 0) >= 1), 'the attempt timed out');
    await sending.close();
    expect((await deliveries(scheduleId))[0]).toMatchObject({ status: 'pending', lastStatusCode: null, lastError: 'no answer within 0.3 s' });
  });

  it('refuses addresses outside TAPIT_WEBHOOK_ALLOWED_NETWORKS, recording why', async () => {
    const target = await receiver();
    const { scheduleId } = await scheduleWithWebhook(target.url);
    await failedRun(scheduleId);
    const sending = sender({ networks: new AllowedNetworks('external') });
    await eventually(async () => (await sending.pass(), ((await deliveries(scheduleId))[0]?.history.length ?? 0) >= 1), 'the attempt was refused');
    await sending.close();
    expect(target.received).toHaveLength(0);
    expect((await deliveries(scheduleId))[0].lastError).toBe('127.0.0.1 is not an address webhooks may reach (TAPIT_WEBHOOK_ALLOWED_NETWORKS=external)');
    // A name that resolves to loopback is refused on the address it resolves to.
    await call('PUT', `/v1/schedules/${scheduleId}/webhook`, { url: `http://localhost:${target.port}/hook` });
    const again = sender({ networks: new AllowedNetworks('external') });
    await eventually(async () => (await again.pass(), ((await deliveries(scheduleId))[0]?.history.length ?? 0) >= 2), 'the second attempt was refused');
    await again.close();
    expect(target.received).toHaveLength(0);
    expect((await deliveries(scheduleId))[0].lastError).toMatch(/^localhost \((127\.0\.0\.1|::1)\) is not an address webhooks may reach/);
  });

  it('keeps the body and delivery id, and reads only 1024 characters of an answer', async () => {
    const target = await receiver([{ status: 500, body: 'x'.repeat(100_000) }]);
    const { scheduleId } = await scheduleWithWebhook(target.url);
    await failedRun(scheduleId);
    const sending = sender({ retryBaseMs: 60_000 });
    await eventually(async () => (await sending.pass(), ((await deliveries(scheduleId))[0]?.history.length ?? 0) >= 1), 'one attempt');
    await sending.close();
    expect((await deliveries(scheduleId))[0].lastResponse).toBe('x'.repeat(1024));
  });

  it('lets two senders claim due deliveries at once without claiming one twice', async () => {
    // Earlier tests' deliveries still waiting would be claimed too.
    await database.db.updateTable('webhook_deliveries').set({ status: 'failed' }).where('status', '=', 'pending').execute();
    const target = await receiver();
    const { scheduleId } = await scheduleWithWebhook(target.url);
    for (let i = 0; i < 12; i++) await skippedRun(scheduleId);
    const ids = (await deliveries(scheduleId)).map((d) => d.id);
    expect(ids).toHaveLength(12);
    const [a, b] = await Promise.all([claimDueDeliveries(database.db, { limit: 8, leaseMs: 30_000 }), claimDueDeliveries(database.db, { limit: 8, leaseMs: 30_000 })]);
    const claimed = [...a, ...b].map((d) => d.id);
    expect(new Set(claimed).size).toBe(claimed.length);
    expect(claimed.sort()).toEqual([...ids].sort());
    // Leased: nobody claims them again until the lease ends.
    expect(await claimDueDeliveries(database.db, { limit: 50, leaseMs: 30_000 })).toEqual([]);
  });

  it('tries again after the lease when the sender died mid-attempt, noting the lost attempt', async () => {
    const target = await receiver();
    const { scheduleId } = await scheduleWithWebhook(target.url);
    await failedRun(scheduleId);
    // A replica claims the attempt and dies before it records anything.
    const [lost] = await claimDueDeliveries(database.db, { limit: 1, leaseMs: 200 });
    expect(lost.attempt).toBe(1);
    const sending = sender();
    await eventually(async () => (await sending.pass(), (await deliveries(scheduleId))[0]?.status === 'delivered'), 'delivered after the lease');
    await sending.close();
    const [delivery] = await deliveries(scheduleId);
    expect(delivery.attempts).toBe(2);
    expect(delivery.history).toMatchObject([
      { attempt: 1, statusCode: null, error: expect.stringContaining('no outcome recorded') },
      { attempt: 2, statusCode: 200, error: null },
    ]);
  });

  it("uses the app's webhook for schedules without their own, and follows a replaced one", async () => {
    const appHook = await receiver();
    const set = await call('PUT', `${APP_PATH}/web/webhook`, { url: appHook.url });
    expect(set.status).toBe(200);
    const { scheduleId } = await createSchedule();
    await failedRun(scheduleId);
    const sending = sender();
    await eventually(async () => (await sending.pass(), appHook.received.length === 1), "the app's webhook got it");
    expect(verifyTapitSignature(set.body.secret, appHook.received[0].body, String(appHook.received[0].headers['tapit-signature']))).toBe(true);

    // The schedule's own webhook wins over the app's.
    const own = await receiver();
    const ownSet = await call('PUT', `/v1/schedules/${scheduleId}/webhook`, { url: own.url });
    await failedRun(scheduleId);
    await eventually(async () => (await sending.pass(), own.received.length === 1), "the schedule's own webhook got it");
    await sending.close();
    expect(appHook.received).toHaveLength(1);
    expect(verifyTapitSignature(ownSet.body.secret, own.received[0].body, String(own.received[0].headers['tapit-signature']))).toBe(true);
    expect((await call('DELETE', `${APP_PATH}/web/webhook`)).status).toBe(204);
  });

  it('gives up a pending delivery whose webhook was removed', async () => {
    const { scheduleId } = await scheduleWithWebhook('http://127.0.0.1:9/nowhere');
    await failedRun(scheduleId);
    expect((await call('DELETE', `/v1/schedules/${scheduleId}/webhook`)).status).toBe(204);
    await sender().pass();
    expect((await deliveries(scheduleId))[0]).toMatchObject({ status: 'failed', lastError: 'no webhook applies to the schedule any more (removed)' });
  });

  it('alerts a failed run, a skipped slot, and the first success after failures, as the engine settles them', async () => {
    expect(alertEventFor({ outcome: 'retrying', wasFailing: true })).toBeNull();
    expect(alertEventFor({ outcome: 'stopped', wasFailing: true })).toBeNull();
    const { scheduleId } = await scheduleWithWebhook('http://127.0.0.1:9/x');
    const events = async () => (await deliveries(scheduleId)).map((d) => d.event).reverse();
    const body = async () => AlertBody.parse(JSON.parse((await deliveries(scheduleId))[0]!.body));

    await run(scheduleId, 'EXITED', 0);
    expect(await events()).toEqual([]);
    const failed = await failedRun(scheduleId);
    expect(await events()).toEqual(['run.failed']);
    expect(await body()).toMatchObject({
      event: 'run.failed',
      trigger: 'manual',
      outcome: 'failed',
      reason: `task ${failed.taskId} (attempt 1) ended EXITED (exit code 3)`,
      attempts: [{ attempt: 1, taskId: failed.taskId, status: 'STOPPED', stopCode: 'EXITED', exitCode: 3 }],
      hint: `tapit show task task=${failed.taskId}`,
    });
    // A run a user stopped neither fails nor recovers.
    await run(scheduleId, 'USER_STOPPED', null);
    expect(await events()).toEqual(['run.failed']);
    const recovered = await run(scheduleId, 'EXITED', 0);
    expect(await events()).toEqual(['run.failed', 'run.recovered']);
    expect(await body()).toMatchObject({ event: 'run.recovered', outcome: 'succeeded', reason: null, attempts: [{ taskId: recovered.taskId, exitCode: 0 }] });
    await run(scheduleId, 'EXITED', 0);
    expect(await events()).toEqual(['run.failed', 'run.recovered']);

    // A missed slot is a failure to recover from; one skipped by concurrency=forbid is not.
    const missed = await skippedRun(scheduleId);
    expect(await body()).toMatchObject({ event: 'run.skipped', outcome: 'skipped', scheduledFor: missed.scheduledFor.toISOString(), reason: expect.stringMatching(/^missed: /), attempts: [], hint: `tapit show schedule schedule=${scheduleId}` });
    await run(scheduleId, 'EXITED', 0);
    expect(await events()).toEqual(['run.failed', 'run.recovered', 'run.skipped', 'run.recovered']);
    const scheduledFor = nextSlot();
    const reason = 'task 0000000000000000000000000000002a was still running (concurrency=forbid)';
    await database.db.transaction().execute((trx) => settleRun(trx, { scheduleId, scheduledFor, trigger: 'cron' }, { outcome: 'skipped', reason }, { fresh: true }));
    expect(await body()).toMatchObject({ event: 'run.skipped', reason });
    await run(scheduleId, 'EXITED', 0);
    expect(await events()).toEqual(['run.failed', 'run.recovered', 'run.skipped', 'run.recovered', 'run.skipped']);
  });

  it('stores nothing without a webhook, and nothing twice for one outcome', async () => {
    const { scheduleId } = await createSchedule();
    const failed = await failedRun(scheduleId);
    expect(await deliveries(scheduleId)).toHaveLength(0);
    await call('PUT', `/v1/schedules/${scheduleId}/webhook`, { url: 'http://127.0.0.1:9/x' });
    expect(await enqueueScheduleAlert(database.db, failed)).toMatch(/^[0-9a-f]{32}$/);
    expect(await enqueueScheduleAlert(database.db, failed)).toBeNull();
    expect(await deliveries(scheduleId)).toHaveLength(1);
  });

  it('stores the delivery in the transaction that settles the run: rolled back with it', async () => {
    const { scheduleId } = await scheduleWithWebhook('http://127.0.0.1:9/x');
    await expect(
      database.db.transaction().execute(async (trx) => {
        await settleRun(trx, { scheduleId, scheduledFor: nextSlot(), trigger: 'cron' }, { outcome: 'skipped', reason: 'missed', missed: true }, { fresh: true });
        expect(await trx.selectFrom('webhook_deliveries').select('id').where('schedule_id', '=', scheduleId).execute()).toHaveLength(1);
        throw new Error('the outcome change failed');
      }),
    ).rejects.toThrow('the outcome change failed');
    expect(await deliveries(scheduleId)).toHaveLength(0);
  });

  it('keeps the newest 100 deliveries of a schedule, paged newest first', async () => {
    const { scheduleId } = await scheduleWithWebhook('http://127.0.0.1:9/x');
    const slots: string[] = [];
    for (let i = 0; i < 103; i++) slots.push((await skippedRun(scheduleId, 'missed')).scheduledFor.toISOString());
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await call('GET', `/v1/schedules/${scheduleId}/deliveries?limit=40${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((d: { scheduledFor: string }) => d.scheduledFor));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(slots.slice(-100).reverse());
  });
});
