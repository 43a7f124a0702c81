/*
 * Alerts end to end: schedules fire tasks on a real agent, their outcomes reach a real receiver
 * on 127.0.0.1 as signed JSON: a failed run, a slot skipped by concurrency=forbid, and the first
 * success after the failure. Then a fault: an alert stored while its receiver is down survives
 * the scheduler being killed (-9) and is sent by the scheduler started again, once the receiver
 * is up, with every attempt recorded.
 */
import { AlertBody, CreatedSchedule, DeliveryList, TriggeredRun } from '@tapit/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_IMAGE } from '../support/agent.js';
import { api } from '../support/fuzz/api.js';
import { readUntil } from '../support/read-until.js';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { freePort } from '../support/scheduler.js';
import { startSystem, type System } from '../support/system.js';
import { startWebhookReceiver, verifyTapitSignature } from '../support/webhook-receiver.js';

let system: System;
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
const receivers: Awaited<ReturnType<typeof startWebhookReceiver>>[] = [];

beforeAll(async () => {
  system = await startSystem({ schedulerEnv: { TAPIT_WEBHOOK_ALLOWED_NETWORKS: 'loopback', TAPIT_WEBHOOK_RETRY_BASE_MS: '200' } });
  receiver = await startWebhookReceiver();
  receivers.push(receiver);
}, HOOK_TIMEOUT_MS);
afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await system?.stop();
}, HOOK_TIMEOUT_MS);

const call = (method: string, path: string, body?: unknown) => api(system.scheduler, method, path, body);

const until = <T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean) => readUntil(what, read, ok, { context: () => system.output() });

/** The alerts the receiver got for a schedule, parsed, each checked against its signature. */
function alertsOf(scheduleId: string, secret: string): AlertBody[] {
  return receiver.received
    .filter((r) => JSON.parse(r.body).schedule?.id === scheduleId)
    .map((r) => {
      expect(verifyTapitSignature(secret, r.body, String(r.headers['tapit-signature']))).toBe(true);
      const body = AlertBody.parse(JSON.parse(r.body));
      expect(r.headers['tapit-event']).toBe(body.event);
      expect(r.headers['tapit-delivery']).toBe(body.deliveryId);
      return body;
    });
}

async function createSchedule(app: string, request: Record<string, unknown>): Promise<CreatedSchedule> {
  const created = await call('POST', `/v1/projects/default/stages/default/apps/${app}/schedules`, { webhookUrl: receiver.url, ...request });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return CreatedSchedule.parse(created.body);
}

describe('alerts of schedules that run on an agent', () => {
  it('a failed run sends run.failed, and the next success run.recovered; a success after it nothing', async () => {
    // The app's image does not exist: its first run fails to start. Its next release does.
    expect((await system.tapit('create', 'app', 'flaky', 'image=tapit-test/does-not-exist:1')).code).toBe(0);
    const schedule = await createSchedule('flaky', { cron: '0 4 * * *', command: 'true' });
    const trigger = async () => TriggeredRun.parse((await call('POST', `/v1/schedules/${schedule.id}/trigger`)).body);

    const failing = await trigger();
    const [failed] = await until('run.failed', async () => alertsOf(schedule.id, schedule.webhookSecret!), (a) => a.length >= 1);
    expect(failed).toMatchObject({
      event: 'run.failed',
      outcome: 'failed',
      trigger: 'manual',
      scheduledFor: failing.scheduledFor,
      schedule: { id: schedule.id, project: 'default', stage: 'default', app: 'flaky', cron: '0 4 * * *', timezone: 'UTC' },
      attempts: [{ attempt: 1, taskId: failing.taskId, status: 'STOPPED', stopCode: 'FAILED_TO_START', exitCode: null }],
      hint: `tapit show task task=${failing.taskId}`,
    });
    expect(failed!.reason).toContain('FAILED_TO_START');

    expect((await system.tapit('create', 'release', `image=${TEST_IMAGE}`, '-a', 'flaky')).code).toBe(0);
    const succeeding = await trigger();
    const alerts = await until('run.recovered', async () => alertsOf(schedule.id, schedule.webhookSecret!), (a) => a.length >= 2);
    expect(alerts[1]).toMatchObject({ event: 'run.recovered', outcome: 'succeeded', reason: null, scheduledFor: succeeding.scheduledFor, attempts: [{ taskId: succeeding.taskId, stopCode: 'EXITED', exitCode: 0 }] });

    // A success after a success is no news.
    const quiet = await trigger();
    await system.waitForTask(quiet.taskId, (t) => t.status === 'STOPPED');
    await until('the run to settle', async () => (await call('GET', `/v1/schedules/${schedule.id}`)).body, (d) => d.runs?.[0]?.outcome === 'succeeded');
    const deliveries = DeliveryList.parse((await call('GET', `/v1/schedules/${schedule.id}/deliveries`)).body).items;
    expect(deliveries.map((d) => d.event)).toEqual(['run.recovered', 'run.failed']);
    expect(alertsOf(schedule.id, schedule.webhookSecret!)).toHaveLength(2);
  });

  it('a slot skipped while the previous run is active (concurrency=forbid) sends run.skipped naming the running task', async () => {
    const schedule = await createSchedule('web', { cron: '*/2 * * * * *', concurrency: 'forbid', command: 'sleep 60' });
    const [skipped] = await until('run.skipped', async () => alertsOf(schedule.id, schedule.webhookSecret!), (a) => a.length >= 1);
    await call('POST', `/v1/schedules/${schedule.id}/suspend`);
    expect(skipped).toMatchObject({ event: 'run.skipped', outcome: 'skipped', trigger: 'cron', attempts: [], hint: `tapit show schedule schedule=${schedule.id}` });
    expect(skipped!.reason).toContain('concurrency=forbid');
    const running = (await call('GET', `/v1/tasks?app=web&status=PROVISIONING,PENDING,RUNNING`)).body.items.map((t: { id: string }) => t.id);
    expect(running.some((id: string) => skipped!.reason!.includes(id.slice(0, 8)))).toBe(true);
    for (const id of running) await call('POST', `/v1/tasks/${id}/stop`);
  });

  it('a receiver answering 500, then 200: the alert is sent again and both attempts are shown by the CLI', async () => {
    const flaky = await startWebhookReceiver({ statuses: [500, 200] });
    receivers.push(flaky);
    const schedule = await createSchedule('web', { cron: '0 4 * * *', command: 'exit 3', webhookUrl: flaky.url });
    await call('POST', `/v1/schedules/${schedule.id}/trigger`);
    const [delivery] = await until('delivered after a 500', async () => DeliveryList.parse((await call('GET', `/v1/schedules/${schedule.id}/deliveries`)).body).items, (d) => d[0]?.status === 'delivered');
    expect(flaky.received).toHaveLength(2);
    expect(flaky.received[1]!.body).toBe(flaky.received[0]!.body);
    expect(delivery!.history).toMatchObject([
      { attempt: 1, statusCode: 500, error: 'the receiver answered 500' },
      { attempt: 2, statusCode: 200, error: null },
    ]);
    const listed = await system.tapit('list', 'deliveries', `schedule=${schedule.id}`);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^${delivery!.id.slice(0, 12)}\\s+run\\.failed\\s+\\S+ \\S+\\s+delivered\\s+1\\s+\\S+ \\S+\\s+500\\s+the receiver answered 500$`, 'm'));
    expect(listed.stdout).toMatch(/^\s+2\s+\S+ \S+\s+200$/m);
    const json = DeliveryList.parse(JSON.parse((await system.tapit('list', 'deliveries', schedule.id, '--json')).stdout));
    expect(json.items[0]).toMatchObject({ id: delivery!.id, attempts: 2, status: 'delivered' });
  });
});

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

    const late = await startWebhookReceiver({ port });
    receivers.push(late);
    const settled = await until('every stored alert delivered', deliveries, (items) => items.filter((d) => stored.some((s) => s.id === d.id)).every((d) => d.status === 'delivered'));
    for (const delivery of settled.filter((d) => stored.some((s) => s.id === d.id))) {
      // At least once: each arrived, and what arrived is exactly what was stored before the kill.
      const arrived = late.received.filter((r) => r.headers['tapit-delivery'] === delivery.id);
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
