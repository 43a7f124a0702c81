import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, TEST_IMAGE, type RunningAgent } from '../support/agent.js';
import { apiCaller } from '../support/api-caller.js';
import { expectFitsWidth, SCREENSHOTS, TestBrowser } from '../support/browser.js';
import { createDatabase, type FreshDatabase } from '../support/postgres.js';
import { readUntil } from '../support/read-until.js';
import { startScheduler, type RunningScheduler } from '../support/scheduler.js';

/*
 * The dashboard's other pages (run a task, schedules, agents, audit, tokens) in a real browser
 * (Debian's Chromium through playwright-core, no download) against the built scheduler on the
 * test Postgres, with a real agent connected: tasks run in Docker.
 */

const JOIN_TOKEN = `join-${process.pid}-dashboard-pages`;
const AGENT = `dash-agent-${process.pid}`;

interface ScheduleView {
  id: string;
  suspended: boolean;
  failing: boolean;
  lastRun: { trigger: string; attempts: { taskId: string }[] } | null;
}

describe('the dashboard pages in Chromium', () => {
  let database: FreshDatabase;
  let scheduler: RunningScheduler;
  let agent: RunningAgent;
  let browser: TestBrowser;
  let api: ReturnType<typeof apiCaller>;
  let viewerToken: string;
  let nightly: string;
  let broken: string;

  beforeAll(async () => {
    database = await createDatabase();
    scheduler = await startScheduler({ TAPIT_AGENT_JOIN_TOKEN: JOIN_TOKEN }, { databaseUrl: database.url });
    agent = await startAgent(scheduler, JOIN_TOKEN, AGENT);
    api = apiCaller(scheduler.url, scheduler.token);
    browser = await TestBrowser.launch(scheduler.url);
    await api('POST', '/v1/projects/default/stages/default/apps', { name: 'web', image: TEST_IMAGE });
    await api('POST', '/v1/projects', { name: 'other' });
    await api('POST', '/v1/projects/other/stages/default/apps', { name: 'jobs', image: TEST_IMAGE });
    nightly = (await api('POST', '/v1/projects/default/stages/default/apps/web/schedules', { cron: '30 2 * * *', timezone: 'Europe/Paris', command: 'echo nightly' })).id;
    broken = (await api('POST', '/v1/projects/default/stages/default/apps/web/schedules', { cron: '@yearly', command: 'exit 3' })).id;
    viewerToken = (await api('POST', '/v1/tokens', { name: 'pages-viewer', role: 'viewer' })).token;
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await agent?.stop();
    await scheduler?.stop();
    await database?.drop();
  });

  it('runs a task from the form: it appears with its keys, and runs on the agent', async () => {
    const page = await browser.signedInPage(scheduler.token);
    // Keyboard only: Tab to the header's link and press Enter.
    for (let i = 0; i < 10 && (await page.evaluate<string>('document.activeElement?.textContent ?? ""')) !== 'Run a task'; i++) await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${scheduler.url}/run`);

    await page.getByLabel('app (project/stage/app)').selectOption('default/default/web');
    await page.getByLabel('command').fill('echo "from the form: $GREETING"');
    await page.getByLabel('cpu (vCPUs)').fill('0.25');
    await page.getByLabel('memory (GB)').fill('lots');
    await page.getByLabel('env (KEY=VALUE').fill('GREETING=hello');
    const refused = page.waitForResponse((r) => r.url().endsWith('/run') && r.request().method() === 'POST');
    await page.getByRole('button', { name: 'Run' }).click();
    expect((await refused).status()).toBe(400);
    await expect(page.getByRole('alert').textContent()).resolves.toContain('memoryGb: must be a number');
    await expect(page.getByLabel('memory (GB)').getAttribute('aria-invalid')).resolves.toBe('true');
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-run.png'), fullPage: true });
    // Nothing was created, and the form kept what was typed.
    expect((await api('GET', '/v1/tasks')).items).toEqual([]);
    await expect(page.getByLabel('command').inputValue()).resolves.toBe('echo "from the form: $GREETING"');

    await page.getByLabel('memory (GB)').fill('0.5');
    await page.getByLabel('max_hours').fill('1');
    await page.getByLabel('command').fill('sh /opt/greet.sh && echo "from the form: $GREETING"');
    // A file, as --file: picked again after the refusal (a browser never re-fills a file field).
    await page.locator('#r-file').setInputFiles({ name: 'greet.sh', mimeType: 'text/plain', buffer: Buffer.from('echo "from a file"\n') });
    await page.getByLabel('into the container folder').fill('/opt');
    await page.getByRole('button', { name: 'Run' }).click();
    await page.waitForURL(/\/tasks\/[0-9a-f]{32}$/);
    const id = new URL(page.url()).pathname.split('/')[2]!;
    const details = await page.locator('dl.details').textContent();
    for (const word of ['sh /opt/greet.sh && echo "from the form: $GREETING"', '0.25 vCPU', '0.5 GB', 'GREETING (values hidden)', 'by bootstrap']) expect(details).toContain(word);
    const ended = await readUntil('the task to end', () => api('GET', `/v1/tasks/${id}`), (t) => t.status === 'STOPPED', { timeoutMs: 60_000 });
    expect(ended).toMatchObject({ agent: AGENT, stopCode: 'EXITED', exitCode: 0, resources: { cpu: 0.25, memoryGb: 0.5, maxHours: 1 } });
    const log = await fetch(`${scheduler.url}/v1/tasks/${id}/logs`, { headers: { authorization: `Bearer ${scheduler.token}` } });
    // The task's own env var reached the container; its value, a secret, is masked in the log.
    const text = await log.text();
    expect(text).toContain('from a file');
    expect(text).toContain('from the form: ••••');
    expect(text).not.toContain('hello');
  });

  it('suspends, resumes and triggers a schedule from its page; a failing one is marked in the list', async () => {
    const page = await browser.signedInPage(scheduler.token);
    await page.getByRole('link', { name: 'Schedules' }).click();
    await page.getByRole('link', { name: nightly.slice(0, 12) }).click();
    await page.waitForURL(`${scheduler.url}/schedules/${nightly}`);
    await expect(page.locator('dl.details').textContent()).resolves.toContain('Europe/Paris');

    await page.getByRole('button', { name: 'Suspend' }).click();
    await page.waitForURL(/done=suspend/);
    expect(((await api('GET', `/v1/schedules/${nightly}`)) as ScheduleView).suspended).toBe(true);
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.waitForURL(/done=resume/);
    expect(((await api('GET', `/v1/schedules/${nightly}`)) as ScheduleView).suspended).toBe(false);

    await page.getByRole('button', { name: 'Trigger now' }).click();
    await page.waitForURL(/done=trigger/);
    const taskId = new URL(page.url()).searchParams.get('task')!;
    const schedule = (await api('GET', `/v1/schedules/${nightly}`)) as ScheduleView;
    expect(schedule.lastRun).toMatchObject({ trigger: 'manual', attempts: [{ taskId }] });
    // The run is in the page's history, linking its task.
    await expect(page.locator('table[aria-label="Recent runs"]').textContent()).resolves.toContain(taskId.slice(0, 12));
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-schedule.png'), fullPage: true });

    // A run that exits 3 makes its schedule failing: the list marks it.
    await api('POST', `/v1/schedules/${broken}/trigger`);
    await readUntil('the schedule to be failing', () => api('GET', `/v1/schedules/${broken}`) as Promise<ScheduleView>, (s) => s.failing, { timeoutMs: 60_000 });
    await page.goto(`${scheduler.url}/schedules`);
    const failingRow = page.locator('tr.failing');
    await expect(failingRow.count()).resolves.toBe(1);
    await expect(failingRow.textContent()).resolves.toContain('FAILING');
    await expect(failingRow.textContent()).resolves.toContain(broken.slice(0, 12));
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-schedules.png'), fullPage: true });

    // A viewer sees no buttons, and a form it sends anyway is refused.
    const viewer = await browser.signedInPage(viewerToken);
    await viewer.goto(`${scheduler.url}/schedules/${nightly}`);
    await expect(viewer.getByRole('button', { name: 'Suspend' }).count()).resolves.toBe(0);
    const csrf = await viewer.locator('input[name="csrf"]').first().inputValue();
    expect((await viewer.context().request.post(`${scheduler.url}/schedules/${nightly}/trigger`, { form: { csrf }, maxRedirects: 0 })).status()).toBe(403);
  });

  it('shows the connected agent with its status, version, capacity and use', async () => {
    const page = await browser.signedInPage(scheduler.token);
    await page.getByRole('link', { name: 'Agents' }).click();
    await page.waitForURL(`${scheduler.url}/agents`);
    const row = page.locator('table[aria-label="Agents"] tbody tr', { hasText: AGENT });
    const cells = await row.locator('td').allTextContents();
    expect(cells[0]).toBe(AGENT);
    expect(cells[1]).toBe('online');
    expect(cells[2]).toMatch(/^\d+\.\d+\.\d+/);
    expect(cells[3]).toMatch(/^\d+(\.\d+)?\/\d+(\.\d+)?$/);
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-agents.png'), fullPage: true });
  });

  it('lists the audit trail with the CLI filters and pages', async () => {
    const page = await browser.signedInPage(scheduler.token);
    await page.getByRole('link', { name: 'Audit' }).click();
    await page.getByLabel('action').fill('schedule.*');
    await page.getByLabel('since').fill('1h');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/action=schedule/);
    const actions = await page.locator('table[aria-label="Audit events"] tbody tr td:nth-child(4)').allTextContents();
    expect(actions.slice(0, 4)).toEqual(['schedule.trigger', 'schedule.trigger', 'schedule.resume', 'schedule.suspend']);
    expect(new Set(actions)).toEqual(new Set(['schedule.trigger', 'schedule.resume', 'schedule.suspend', 'schedule.create']));
    // Each schedule's event links to the schedule's page.
    await expect(page.locator(`table[aria-label="Audit events"] a[href="/schedules/${nightly}"]`).count()).resolves.toBeGreaterThan(0);
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-audit.png'), fullPage: true });
    await page.goto(`${scheduler.url}/audit?limit=2`);
    const first = await page.locator('table[aria-label="Audit events"] tbody tr').allTextContents();
    await page.getByRole('link', { name: 'Older events' }).click();
    const second = await page.locator('table[aria-label="Audit events"] tbody tr').allTextContents();
    expect(second).toHaveLength(2);
    expect(second).not.toEqual(first);
  });

  it('lets an admin create a token (secret shown once) and revoke it after confirming; a viewer is refused', async () => {
    const page = await browser.signedInPage(scheduler.token);
    await page.getByRole('link', { name: 'Tokens' }).click();
    await page.getByLabel('name').fill('ci-pages');
    await page.getByLabel('role').selectOption('member');
    await page.getByLabel('project (empty: every project)').selectOption('other');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = (await page.locator('#new-secret').textContent())!;
    expect(await api('GET', '/v1/whoami', undefined, secret)).toEqual({ name: 'ci-pages', role: 'member', project: 'other' });
    // The secret is masked in the picture: no token-looking text in the docs.
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-tokens.png'), fullPage: true, mask: [page.locator('#new-secret')] });
    await page.reload();
    expect(await page.content()).not.toContain(secret);

    await page.goto(`${scheduler.url}/tokens`);
    await page.getByRole('link', { name: 'Revoke ci-pages' }).click();
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Revoke token "ci-pages"?');
    await page.getByRole('button', { name: 'Revoke ci-pages' }).click();
    await page.waitForURL(/revoked=ci-pages/);
    await expect(page.getByRole('status').textContent()).resolves.toContain('Token "ci-pages" revoked.');
    expect((await fetch(`${scheduler.url}/v1/whoami`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(401);

    const viewer = await browser.signedInPage(viewerToken);
    await expect(viewer.getByRole('link', { name: 'Tokens' }).count()).resolves.toBe(0);
    expect((await viewer.goto(`${scheduler.url}/tokens`))!.status()).toBe(403);
    await expect(viewer.getByRole('alert').textContent()).resolves.toContain('has role viewer; this needs admin');
  });

  it('fits every page in a 390 px phone without horizontal scroll', async () => {
    const page = await browser.signedInPage(scheduler.token, { width: 390, height: 844 });
    for (const path of ['/run', '/schedules', `/schedules/${nightly}`, '/agents', '/audit', '/tokens', '/tokens/pages-viewer/revoke']) {
      expect((await page.goto(`${scheduler.url}${path}`))!.status(), path).toBe(200);
      await expectFitsWidth(page, path);
    }
    await page.goto(`${scheduler.url}/schedules`);
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-schedules-phone.png'), fullPage: true });
    await page.goto(`${scheduler.url}/run`);
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-run-phone.png'), fullPage: true });
  });
});
