/*
 * Alerts end to end: schedules fire tasks on a real agent, their outcomes reach a real receiver
 * on 127.0.0.1 as signed JSON: a failed run, a slot skipped by concurrency=forbid, and the first
 * success after the failure.
 */
import { AlertBody, CreatedSchedule, DeliveryList, TriggeredRun } from '@tapit/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_IMAGE } from '../support/agent.js';
import { api } from '../support/fuzz/api.js';
import { readUntil } from '../support/read-until.js';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { startSystem, type System } from '../support/system.js';
import { startWebhookReceiver, verifyTapitSignature } from '../support/webhook-receiver.js';

let system: System;
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;

beforeAll(async () => {
  system = await startSystem({ schedulerEnv: { TAPIT_WEBHOOK_ALLOWED_NETWORKS: 'loopback', TAPIT_WEBHOOK_RETRY_BASE_MS: '200' } });
  receiver = await startWebhookReceiver();
}, HOOK_TIMEOUT_MS);
afterAll(async () => {
  await receiver?.close();
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
    try {
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
    } finally {
      await flaky.close();
    }
  });
});
