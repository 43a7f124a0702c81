import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCREENSHOTS, TestBrowser } from '../support/browser.js';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { idFrom, startSystem, type System } from '../support/system.js';

/*
 * The dashboard's live pages in Chromium (Debian's, driven by playwright-core) against the whole
 * built system: tasks started with the CLI run on a real agent and Docker, and the pages follow
 * them over their websockets without a reload.
 */

describe('the live dashboard in Chromium', () => {
  let system: System;
  let browser: TestBrowser;
  let otherOrigin: Server | undefined;

  const url = (path: string) => `${system.scheduler.url}${path}`;
  const why = () => system.output();

  const signedInPage = () => browser.signedInPage(system.scheduler.token, { width: 1280, height: 900 });

  /** `tapit create task COMMAND` (it returns once the task is created): its id. */
  async function createTask(command: string): Promise<string> {
    const created = await system.tapit('create', 'task', command);
    expect(created.code, `${created.stderr}\n${why()}`).toBe(0);
    return idFrom(created.stdout);
  }

  /** Marks the page's window: still there later means the page was never loaded again. */
  const mark = (page: Page) => page.evaluate(() => ((window as unknown as { liveMark: string }).liveMark = 'not reloaded'));
  const marked = (page: Page) => page.evaluate(() => (window as unknown as { liveMark?: string }).liveMark);

  beforeAll(async () => {
    system = await startSystem();
    browser = await TestBrowser.launch(system.scheduler.url);
  }, HOOK_TIMEOUT_MS);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => (otherOrigin ? otherOrigin.close(resolve) : resolve(undefined)));
    await system?.stop();
  }, HOOK_TIMEOUT_MS);

  it('puts a task started from the CLI on the tasks page and follows it to its end, without a reload or a moved column', { timeout: 120_000 }, async () => {
    const older = await createTask('echo older');
    await system.waitForTask(older, (t) => t.status === 'STOPPED');
    const page = await signedInPage();
    await mark(page);
    const columns = () => page.locator('table.tasks thead th').evaluateAll((cells) => cells.map((cell) => Math.round(cell.getBoundingClientRect().width)));
    const before = await columns();
    const olderRow = page.locator(`tr[data-task-id="${older}"]`);
    const olderTop = (await olderRow.boundingBox())!.y;

    const id = await createTask('sleep 4; echo finished');
    const row = page.locator(`tr[data-task-id="${id}"]`);
    const status = row.locator('td.status');
    // It comes in first (newest), then runs, then ends: each seen in place.
    await expect.poll(() => page.locator('table.tasks tbody tr').first().getAttribute('data-task-id'), { timeout: 30_000 }).toBe(id);
    await expect.poll(() => status.textContent(), { timeout: 60_000, message: why() }).toBe('RUNNING');
    await expect.poll(() => status.textContent(), { timeout: 60_000, message: why() }).toBe('STOPPED (EXITED 0)');
    expect(await marked(page)).toBe('not reloaded');
    // The columns kept their widths through the changes; the older row moved down by one row only.
    expect(await columns()).toEqual(before);
    const rowHeight = (await row.boundingBox())!.height;
    expect(Math.round((await olderRow.boundingBox())!.y - olderTop)).toBe(Math.round(rowHeight));
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-tasks-live.png'), fullPage: true });
  });

  it("follows a task's log live on its page: every numbered line, in order, then searches and downloads it", { timeout: 120_000 }, async () => {
    // A pause first: the page is open before the output starts (it shows the last 200 lines it finds).
    const id = await createTask('sleep 2; for i in $(seq 1 300); do echo line $i; sleep 0.01; done');
    const page = await signedInPage();
    await page.goto(url(`/tasks/${id}`));
    await mark(page);
    await expect.poll(() => page.locator('body').getAttribute('data-log-complete'), { timeout: 90_000, message: why() }).toBe('true');
    expect(await marked(page)).toBe('not reloaded');
    const lines = await page.locator('pre#log-lines span.line').allTextContents();
    const app = lines.map((line) => /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[app\] (.*)\n$/.exec(line)?.[1]).filter((text) => text !== undefined);
    expect(app).toEqual(Array.from({ length: 300 }, (_, i) => `line ${i + 1}`));
    // As `tapit show logs` prints them, [system] lines included.
    const printed = await system.tapit('show', 'logs', `task=${id}`);
    expect(lines.join('')).toBe(printed.stdout);
    await expect.poll(() => page.locator('#task-details dd[data-field="Status"]').textContent()).toBe('STOPPED');
    expect(await page.locator('#task-details dd[data-field="Exit code"]').textContent()).toBe('0');

    // Search: the loaded lines that match, highlighted; the others hidden.
    await page.getByLabel('Search the log').fill('line 29');
    await expect.poll(() => page.locator('#log-matches').textContent()).toMatch(/^11 of \d+ loaded lines$/);
    expect(await page.locator('pre#log-lines span.line:visible').allTextContents()).toHaveLength(11);
    expect(await page.locator('pre#log-lines mark').allTextContents()).toEqual(Array(11).fill('line 29'));
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-task-search.png'), fullPage: true });
    await page.getByLabel('Search the log').fill('');
    expect(await page.locator('pre#log-lines span.line:visible').count()).toBe(lines.length);

    // Jump to the end: the last line in view.
    await page.locator('pre#log-lines').evaluate((pre) => {
      pre.scrollTop = 0;
      window.scrollTo(0, 0);
    });
    await page.getByRole('button', { name: 'Jump to the end' }).click();
    const lastLineVisible = () =>
      page.locator('pre#log-lines').evaluate((pre) => {
        const line = pre.lastElementChild!.getBoundingClientRect();
        const box = pre.getBoundingClientRect();
        return line.bottom <= box.bottom + 1 && line.top >= box.top && box.bottom <= window.innerHeight + 1 && box.top >= 0;
      });
    await expect.poll(lastLineVisible).toBe(true);

    // Download raw: the output alone, as `show logs --raw` prints it.
    const download = page.waitForEvent('download');
    await page.getByRole('link', { name: 'Download raw' }).click();
    const file = await download;
    expect(file.suggestedFilename()).toBe(`task-${id}.log`);
    const { readFile } = await import('node:fs/promises');
    const raw = await readFile((await file.path())!, 'utf8');
    expect(raw).toBe((await system.tapit('show', 'logs', `task=${id}`, '--raw')).stdout);
    expect(raw).toBe(Array.from({ length: 300 }, (_, i) => `line ${i + 1}\n`).join(''));
  });

  it('stops a running task from its page, after a confirmation: STOPPED with USER_STOPPED, stopped by that token', { timeout: 120_000 }, async () => {
    const id = await createTask('echo started; sleep 300');
    const page = await signedInPage();
    await page.goto(url(`/tasks/${id}`));
    await mark(page);
    const field = (name: string) => page.locator(`#task-details dd[data-field="${name}"]`);
    await expect.poll(() => field('Status').textContent(), { timeout: 60_000, message: why() }).toBe('RUNNING');
    await expect.poll(() => page.locator('pre#log-lines').textContent()).toContain('[app] started');
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-task-live.png'), fullPage: true });

    await page.getByRole('link', { name: 'Stop…' }).click();
    await page.waitForURL(url(`/tasks/${id}/stop`));
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe(`Stop task ${id.slice(0, 12)}?`);
    await page.getByRole('button', { name: 'Stop the task' }).click();
    await page.waitForURL(url(`/tasks/${id}`));
    await expect.poll(() => field('Status').textContent(), { timeout: 60_000, message: why() }).toBe('STOPPED');
    // As `tapit show task` prints it: the code, its reason, and who stopped it.
    expect(await field('Stop code').textContent()).toMatch(/^USER_STOPPED.* \(by bootstrap\)$/);
    // The events table followed too: the stop asked (desired STOPPED), then carried out.
    await expect.poll(() => page.locator('#task-events td[data-label="Status"]').allTextContents()).toEqual(['PROVISIONING', 'PENDING', 'RUNNING', 'RUNNING', 'STOPPING', 'STOPPED']);
    expect(await page.locator('#task-events td[data-label="Desired status"]').allTextContents()).toEqual(['RUNNING', 'RUNNING', 'RUNNING', 'STOPPED', 'STOPPED', 'STOPPED']);
    // Stopped: the page offers the delete now, and not the stop.
    await expect.poll(() => page.getByRole('link', { name: 'Delete…' }).count()).toBe(1);
    expect(await page.getByRole('link', { name: 'Stop…' }).count()).toBe(0);
    const shown = await system.task(id);
    expect(shown).toMatchObject({ status: 'STOPPED', stopCode: 'USER_STOPPED', stoppedBy: 'bootstrap' });
  });

  it("refuses a live socket opened by another origin's page with the user's cookie, or without a session", { timeout: 60_000 }, async () => {
    const page = await signedInPage();
    // Another origin on the same host (another port): the browser sends the session cookie with
    // its websocket (cookies know no ports, and it is the same site), so Origin alone refuses it.
    const target = `ws://127.0.0.1:${system.scheduler.port}/live/tasks`;
    otherOrigin = createServer((_, res) => res.end('<!doctype html><title>elsewhere</title>'));
    await new Promise<void>((resolve) => otherOrigin!.listen(0, '127.0.0.1', resolve));
    const elsewhere = `http://127.0.0.1:${(otherOrigin.address() as AddressInfo).port}/`;
    const tryOpen = (socketUrl: string) =>
      new Promise<string>((resolve) => {
        const ws = new WebSocket(socketUrl);
        ws.onopen = () => resolve('opened');
        ws.onerror = () => resolve('refused');
      });
    await page.goto(elsewhere);
    expect((await page.context().cookies(elsewhere)).map((c) => c.name)).toContain('tapit_session');
    expect(await page.evaluate(tryOpen, target)).toBe('refused');
    // The same socket from the dashboard's own page opens.
    await page.goto(url('/tasks'));
    expect(await page.evaluate(tryOpen, target)).toBe('opened');

    // A browser without a session, on the dashboard's origin: refused.
    const stranger = await browser.newPage();
    await stranger.goto(url('/sign-in'));
    expect(await stranger.evaluate(tryOpen, target)).toBe('refused');
  });
});
