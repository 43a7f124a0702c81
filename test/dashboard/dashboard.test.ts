import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiCaller } from '../support/api-caller.js';
import { expectFitsWidth, SCREENSHOTS, TestBrowser } from '../support/browser.js';
import { createDatabase, type FreshDatabase } from '../support/postgres.js';
import { startScheduler, type RunningScheduler } from '../support/scheduler.js';

/*
 * The dashboard in a real browser (Debian's Chromium, driven by playwright-core; no browser is
 * downloaded) against the built scheduler on the test Postgres. Tasks are created through the
 * API and never run (no agent): the pages show what the API stores.
 */

describe('the dashboard in Chromium', () => {
  let database: FreshDatabase;
  let scheduler: RunningScheduler;
  let browser: TestBrowser;
  let api: ReturnType<typeof apiCaller>;
  let defaultTasks: string[];
  let otherTask: string;
  let otherViewer: string;

  beforeAll(async () => {
    database = await createDatabase();
    scheduler = await startScheduler({}, { databaseUrl: database.url });
    api = apiCaller(scheduler.url, scheduler.token);
    browser = await TestBrowser.launch(scheduler.url);
    await api('POST', '/v1/projects/default/stages/default/apps', { name: 'web', image: 'tapit-test/busybox:latest' });
    await api('POST', '/v1/projects', { name: 'other' });
    await api('POST', '/v1/projects/other/stages/default/apps', { name: 'jobs', image: 'tapit-test/busybox:latest' });
    defaultTasks = [];
    for (const command of ['echo hello', 'rake db:migrate', 'sh -c "sleep 5; echo done"']) {
      defaultTasks.push((await api('POST', '/v1/projects/default/stages/default/apps/web/tasks', { command, cpu: 0.25, memoryGb: 0.5 })).id);
    }
    otherTask = (await api('POST', '/v1/projects/other/stages/default/apps/jobs/tasks', { command: 'nightly-report --all' })).id;
    otherViewer = (await api('POST', '/v1/tokens', { name: 'other-viewer', role: 'viewer', project: 'other' })).token;
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await scheduler?.stop();
    await database?.drop();
  });

  it('refuses a bad token and signs in with a good one, listing the tasks created through the API, newest first', async () => {
    const page = await browser.newPage();
    // Without a session every page sends to sign in.
    await page.goto(`${scheduler.url}/`);
    expect(new URL(page.url()).pathname).toBe('/sign-in');
    await page.getByLabel('API token').fill('tapit_not-a-real-token');
    const refused = page.waitForResponse((r) => r.url().endsWith('/sign-in') && r.request().method() === 'POST');
    await page.getByRole('button', { name: 'Sign in' }).click();
    expect((await refused).status()).toBe(401);
    await expect(page.getByRole('alert').textContent()).resolves.toContain('unknown or revoked');

    await browser.signIn(page, scheduler.token);
    const cookie = (await page.context().cookies()).find((c) => c.name === 'tapit_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', secure: false });
    expect(cookie.expires * 1000 - Date.now()).toBeGreaterThan(11 * 3_600_000);
    const links = await page.locator('table.tasks td.id a').allTextContents();
    const expected = [otherTask, ...[...defaultTasks].reverse()].map((id) => id.slice(0, 12));
    expect(links).toEqual(expected);
    await expect(page.locator('table.tasks').textContent()).resolves.toContain('rake db:migrate');
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-tasks.png'), fullPage: true });

    // The CLI's filters: one app, one status.
    await page.getByLabel('app').fill('jobs');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/app=jobs/);
    expect(await page.locator('table.tasks td.id a').allTextContents()).toEqual([otherTask.slice(0, 12)]);
    await page.goto(`${scheduler.url}/tasks?status=RUNNING`);
    await expect(page.getByText('No tasks.').count()).resolves.toBe(1);

    // Pages of the API's listing, by its cursor.
    await page.goto(`${scheduler.url}/tasks?limit=2`);
    expect(await page.locator('table.tasks td.id a').count()).toBe(2);
    await page.getByRole('link', { name: 'Older tasks' }).click();
    expect(await page.locator('table.tasks td.id a').allTextContents()).toEqual(expected.slice(2, 4));
    // The page size stays with the pages (two tasks remain either way; the link must keep it).
    expect(new URL(page.url()).searchParams.get('limit')).toBe('2');

    // A task's page, reached by keyboard-usable links.
    await page.goto(`${scheduler.url}/tasks`);
    await page.getByRole('link', { name: defaultTasks[1]!.slice(0, 12) }).click();
    await page.waitForURL(`${scheduler.url}/tasks/${defaultTasks[1]}`);
    const details = await page.locator('dl.details').textContent();
    for (const word of ['Desired status', 'PROVISIONING', 'RUNNING', 'rake db:migrate', 'tapit-test/busybox:latest', 'bootstrap', '0.25 vCPU', '0.5 GB', 'Peak memory']) {
      expect(details).toContain(word);
    }
    // Its log's [system] lines, as `tapit show logs` prints them.
    await expect(page.locator('pre.log').textContent()).resolves.toContain('[system] Task status is PROVISIONING, desired status is RUNNING');
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-task.png'), fullPage: true });
  });

  it("shows a project-limited token only its project's tasks, and another project's task as not found", async () => {
    const page = await browser.signedInPage(otherViewer);
    expect(await page.locator('table.tasks td.id a').allTextContents()).toEqual([otherTask.slice(0, 12)]);
    // Asking for another project answers as the API does.
    const other = await page.goto(`${scheduler.url}/tasks?project=default`);
    expect(other!.status()).toBe(404);
    const denied = await page.goto(`${scheduler.url}/tasks/${defaultTasks[0]}`);
    expect(denied!.status()).toBe(404);
    await expect(page.getByRole('alert').textContent()).resolves.toContain('not found');
    expect((await page.goto(`${scheduler.url}/tasks/${otherTask}`))!.status()).toBe(200);
  });

  it('refuses a POST without or with a wrong CSRF token, and the session stays', async () => {
    const page = await browser.signedInPage(scheduler.token);
    const request = page.context().request;
    expect((await request.post(`${scheduler.url}/sign-out`, { form: {}, maxRedirects: 0 })).status()).toBe(403);
    expect((await request.post(`${scheduler.url}/sign-out`, { form: { csrf: 'forged' }, maxRedirects: 0 })).status()).toBe(403);
    // The sign-in form's own token, too: another site cannot sign a browser in with its token.
    expect((await request.post(`${scheduler.url}/sign-in`, { form: { token: otherViewer }, maxRedirects: 0 })).status()).toBe(403);
    expect((await page.goto(`${scheduler.url}/tasks`))!.status()).toBe(200);
    expect(new URL(page.url()).pathname).toBe('/tasks');
  });

  it('signs out: the old cookie no longer works', async () => {
    const page = await browser.signedInPage(scheduler.token);
    const cookies = await page.context().cookies();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${scheduler.url}/sign-in`);
    // The same cookie, replayed in a fresh browser context, is sent to sign in.
    const replay = await browser.newPage();
    await replay.context().addCookies(cookies);
    await replay.goto(`${scheduler.url}/tasks`);
    expect(new URL(replay.url()).pathname).toBe('/sign-in');
  });

  it("ends a revoked token's session at its next request", async () => {
    const { token } = await api('POST', '/v1/tokens', { name: 'leaver', role: 'viewer' });
    const page = await browser.signedInPage(token);
    await api('DELETE', '/v1/tokens/leaver');
    await page.goto(`${scheduler.url}/tasks/${defaultTasks[0]}`);
    expect(new URL(page.url()).pathname).toBe('/sign-in');
  });

  it('fits a 390 px phone without horizontal scroll', async () => {
    const page = await browser.signedInPage(scheduler.token, { width: 390, height: 844 });
    for (const path of ['/tasks', `/tasks/${defaultTasks[2]}`, '/sign-in']) {
      await page.goto(`${scheduler.url}${path}`);
      await expectFitsWidth(page, path);
    }
    await page.goto(`${scheduler.url}/tasks`);
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-tasks-phone.png'), fullPage: true });
  });
});
