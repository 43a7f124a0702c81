import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreatedWebhook, DeliveryList, Webhook } from '@tapit/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, runCli } from '../support/cli.js';
import { api } from '../support/fuzz/api.js';
import { createDatabase, type FreshDatabase } from '../support/postgres.js';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { startScheduler, type RunningScheduler } from '../support/scheduler.js';

// Where alerts go, from the CLI: an app's default webhook and a schedule's own; the secret is
// printed once. (Deliveries themselves: e2e/alerts.test.ts.)
let db: FreshDatabase;
let scheduler: RunningScheduler;
let env: Record<string, string>;
let scheduleId: string;

beforeAll(async () => {
  db = await createDatabase();
  scheduler = await startScheduler({}, { databaseUrl: db.url });
  env = cliEnv(scheduler, await mkdtemp(join(tmpdir(), 'tapit-cli-config-')));
  expect((await tapit('create', 'app', 'web', 'image=busybox:1.36')).code).toBe(0);
  scheduleId = (await api(scheduler, 'POST', '/v1/projects/default/stages/default/apps/web/schedules', { cron: '@yearly', command: 'true' })).body.id;
}, HOOK_TIMEOUT_MS);
afterAll(async () => {
  await scheduler?.stop();
  await db?.drop();
}, HOOK_TIMEOUT_MS);

const tapit = (...args: string[]) => runCli(args, { env });
/** The line after the notice that it will not be shown again: the secret, alone. */
const secretIn = (stdout: string) => /will not be shown again[^\n]*\n(whsec_[0-9a-f]{64})\n/.exec(stdout)?.[1];

describe('tapit set, show and unset webhook', () => {
  it("sets an app's default webhook, printing its secret once, and never shows it again", async () => {
    const set = await tapit('set', 'webhook', 'https://alerts.example.com/tapit?token=abc', '-a', 'web');
    expect(set.stderr).toBe('');
    expect(set.code).toBe(0);
    expect(set.stdout).toContain('Alerts of app web in default/default go to https://alerts.example.com/tapit?token=abc (unless a schedule has a webhook of its own).');
    const secret = secretIn(set.stdout);
    expect(secret).toBeTruthy();
    expect(set.stdout.split(secret!).length).toBe(2);

    const shown = await tapit('show', 'webhook', '-a', 'web');
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^URL:\s+https:\/\/alerts\.example\.com\/tapit\?token=abc$/m);
    expect(shown.stdout).toMatch(/^Set by:\s+bootstrap$/m);
    expect(shown.stdout).not.toContain(secret);
    const json = await tapit('show', 'webhook', '-a', 'web', '--json');
    expect(Webhook.strict().parse(JSON.parse(json.stdout)).url).toBe('https://alerts.example.com/tapit?token=abc');
    expect(json.stdout).not.toContain(secret);

    // Set again: a new secret.
    const again = CreatedWebhook.parse(JSON.parse((await tapit('set', 'webhook', 'https://alerts.example.com/v2', '-a', 'web', '--json')).stdout));
    expect(again.secret).not.toBe(secret);

    const unset = await tapit('unset', 'webhook', '-a', 'web');
    expect(unset.code).toBe(0);
    expect(unset.stdout).toContain('Removed the webhook of app web in default/default');
    const gone = await tapit('show', 'webhook', '-a', 'web');
    expect(gone.code).toBe(2);
    expect(gone.stderr).toBe('Error: this app has no webhook\n');
  });

  it("sets a schedule's own webhook by schedule=ID (a prefix does), shown by show schedule", async () => {
    const set = await tapit('set', 'webhook', 'https://alerts.example.com/nightly', `schedule=${scheduleId.slice(0, 8)}`);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain(`Alerts of schedule ${scheduleId.slice(0, 8)} go to https://alerts.example.com/nightly.`);
    const secret = secretIn(set.stdout)!;
    expect(secret).toBeTruthy();
    const schedule = await api(scheduler, 'GET', `/v1/schedules/${scheduleId}`);
    expect(schedule.body.webhookUrl).toBe('https://alerts.example.com/nightly');
    expect(JSON.stringify(schedule.body)).not.toContain(secret);
    expect((await tapit('show', 'webhook', scheduleId)).stdout).toMatch(/^URL:\s+https:\/\/alerts\.example\.com\/nightly$/m);
    const listed = await tapit('list', 'deliveries', `schedule=${scheduleId}`);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toBe('No alerts sent for this schedule yet.\n');
    expect(DeliveryList.parse(JSON.parse((await tapit('list', 'deliveries', scheduleId, '--json')).stdout)).items).toEqual([]);
    expect((await tapit('unset', 'webhook', `schedule=${scheduleId}`)).stdout).toContain("its alerts go to its app's webhook, if the app has one");
  });

  it('refuses bad input with exit 2 and one line, sending nothing', async () => {
    const cases: [string[], string][] = [
      [['set', 'webhook', 'ftp://alerts.example.com', '-a', 'web'], 'Error: Invalid webhook URL "ftp://alerts.example.com": must be an http:// or https:// URL\n'],
      [['set', 'webhook', 'https://alerts.example.com'], 'Error: Missing app: give -a/--app APP or set TAPIT_APP, or schedule=ID (tapit list apps shows them)\n'],
      [['set', 'webhook', '-a', 'web'], 'Error: Missing webhook URL: give it as the first argument\n'],
      [['set', 'webhook', 'https://alerts.example.com', 'schedule=xyz'], 'Error: Invalid schedule "xyz": must be 4 to 32 lowercase hex characters of a schedule id\n'],
      [['set', 'webhook', 'https://alerts.example.com', 'secret=mine', '-a', 'web'], 'Error: Unknown key "secret": allowed keys are schedule\n'],
      [['list', 'deliveries'], 'Error: Missing key "schedule": give schedule=ID, an id or a unique prefix of at least 4 characters\n'],
      [['list', 'deliveries', 'schedule=ffffffff'], 'Error: schedule "ffffffff" not found\n'],
      [['show', 'webhook', '-a', 'nope'], 'Error: app "nope" in default/default not found; apps in default/default: web\n'],
    ];
    // Side by side: each is its own process.
    const results = await Promise.all(cases.map(([args]) => tapit(...args)));
    cases.forEach(([args, stderr], i) => {
      expect(results[i]!.stderr, args.join(' ')).toBe(stderr);
      expect(results[i]!.code, args.join(' ')).toBe(2);
    });
    expect((await tapit('show', 'webhook', '-a', 'web')).code).toBe(2);
  });
});
