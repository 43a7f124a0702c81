import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SCREENSHOTS, TestBrowser } from '../support/browser.js';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { idFrom, startSystem, type System } from '../support/system.js';

/*
 * The dashboard's browser console end to end: Debian's Chromium (playwright-core, nothing
 * downloaded) on the built scheduler, a built agent running the task in the local Docker engine
 * with a TTY, xterm.js in the page. What the terminal shows is read from xterm's rows.
 */

let system: System;
let browser: TestBrowser;

beforeAll(async () => {
  system = await startSystem();
  browser = await TestBrowser.launch(system.scheduler.url);
}, HOOK_TIMEOUT_MS);
afterAll(async () => {
  await browser?.close();
  await system?.stop();
}, HOOK_TIMEOUT_MS);

const why = () => system.output();

/** The terminals' tests size their boxes for this window. */
const newPage = () => browser.newPage({ width: 1200, height: 800 });
const signIn = (page: Page, token = system.scheduler.token) => browser.signIn(page, token);

/** The terminal's visible rows, as text. */
const screen = (page: Page, terminal = '#console-terminal') => page.locator(`${terminal} .xterm-rows`).innerText();

/** Waits until the terminal shows `pattern`; fails with what it shows and the servers' output. */
async function waitForScreen(page: Page, pattern: RegExp, terminal = '#console-terminal', timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = (await screen(page, terminal)).replace(/\u00a0/g, ' ');
    if (pattern.test(text)) return text;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the terminal never showed ${pattern}; it shows:\n${text}\n${why()}`);
}

/** Waits for the console's state (the page's data-state), failing early on an error. */
async function waitForState(page: Page, state: string, root = '#console'): Promise<void> {
  const deadline = Date.now() + 60_000;
  let last: string | null = null;
  while (Date.now() < deadline) {
    last = await page.locator(root).getAttribute('data-state');
    if (last === state) return;
    if (last === 'error' && state !== 'error') break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${root} is ${last} (${await page.locator(`${root} [role=status]`).textContent()}), not ${state}\n${why()}`);
}

/** Types a line into the terminal (it has the keyboard's focus once attached). */
async function typeLine(page: Page, line: string): Promise<void> {
  await page.keyboard.type(line);
  await page.keyboard.press('Enter');
}

/** A file in a task's container exists (an exec with pipes, as scripts use it). */
async function fileExists(taskId: string, path: string): Promise<boolean> {
  const result = await system.tapit('task:attach', taskId, '--', 'test', '-f', path);
  return result.code === 0;
}

describe('the console in the browser', () => {
  let consoleTask: string;
  let finalSize: { cols: number; rows: number };

  it('runs sh from the form: typed input, fit-to-box resize, detach and reattach with what was missed, Ctrl-P Ctrl-Q, the exit code', async () => {
    const page = await newPage();
    // The tasks page does not load xterm.js: it is in the console pages' scripts only.
    const scripts: string[] = [];
    page.on('request', (request) => {
      if (request.resourceType() === 'script') scripts.push(request.url());
    });
    await signIn(page);
    expect(scripts.filter((url) => /\/assets\/(console|recording)-/.test(url))).toEqual([]);

    await page.getByRole('link', { name: 'Run a console' }).click();
    await page.getByLabel('app').fill('web');
    await expect(page.getByLabel('command').inputValue()).resolves.toBe('sh');
    await page.getByRole('button', { name: 'Run' }).click();
    await page.waitForURL(/\/tasks\/[0-9a-f]{32}\/console$/);
    consoleTask = /\/tasks\/([0-9a-f]{32})\/console$/.exec(page.url())![1]!;
    expect(scripts.some((url) => /\/assets\/console-[0-9a-f]{12}\.js$/.test(url))).toBe(true);
    await waitForState(page, 'attached');

    await typeLine(page, 'echo $((6*7))');
    await waitForScreen(page, /^42\s*$/m);
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-console.png') });

    // The terminal fills its box; a smaller window is a smaller terminal, and the task's TTY follows.
    const size = async () => ({ cols: Number(await page.locator('#console').getAttribute('data-cols')), rows: Number(await page.locator('#console').getAttribute('data-rows')) });
    const before = await size();
    await page.setViewportSize({ width: 800, height: 560 });
    let after = await size();
    for (let i = 0; i < 100 && after.cols === before.cols; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      after = await size();
    }
    expect(after.cols).toBeLessThan(before.cols);
    expect(after.rows).toBeLessThan(before.rows);
    await typeLine(page, 'clear; stty size');
    await waitForScreen(page, new RegExp(`^${after.rows} ${after.cols}\\s*$`, 'm'));
    finalSize = after;

    // Detached, the console runs on: what it prints meanwhile is in the replay at reattach.
    await typeLine(page, '(while [ ! -f /tmp/go ]; do sleep 0.1; done; echo missed-$((20+3)); touch /tmp/done) &');
    await page.getByRole('button', { name: 'Detach' }).click();
    await waitForState(page, 'detached');
    await expect(page.locator('#console-state').textContent()).resolves.toContain('keeps running');
    expect((await system.tapit('task:attach', consoleTask, '--', 'touch', '/tmp/go')).code).toBe(0);
    for (let i = 0; i < 100 && !(await fileExists(consoleTask, '/tmp/done')); i++) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await screen(page)).not.toContain('missed-23');
    await page.getByRole('button', { name: 'Reattach' }).click();
    await waitForState(page, 'attached');
    const replayed = await waitForScreen(page, /missed-23\s*$/m);
    // Only what was missed: what the terminal showed already is not printed twice.
    expect(replayed.match(/^\d+ \d+\s*$/gm)).toHaveLength(1);

    // The CLI's detach keys.
    await page.keyboard.press('Control+p');
    await page.keyboard.press('Control+q');
    await waitForState(page, 'detached');
    await page.getByRole('button', { name: 'Reattach' }).click();
    await waitForState(page, 'attached');
    await typeLine(page, 'exit 3');
    await waitForState(page, 'exited');
    await expect(page.locator('#console-state').textContent()).resolves.toContain('exit code 3');
    const task = await system.waitForTask(consoleTask, (t) => t.status === 'STOPPED');
    expect(task).toMatchObject({ status: 'STOPPED', exitCode: 3, kind: 'interactive' });
  });

  it('connects a console again by itself when its link drops (the scheduler restarted), without showing anything twice', async () => {
    const page = await newPage();
    await signIn(page);
    await page.goto(`${system.scheduler.url}/console`);
    await page.getByLabel('app').fill('web');
    await page.getByRole('button', { name: 'Run' }).click();
    await page.waitForURL(/\/tasks\/[0-9a-f]{32}\/console$/);
    await waitForState(page, 'attached');
    await typeLine(page, 'echo before-$((1+1))');
    await waitForScreen(page, /^before-2\s*$/m);

    const states: string[] = [];
    await page.exposeFunction('consoleState', (state: string) => states.push(state));
    await page.evaluate(`new MutationObserver(() => window.consoleState(document.getElementById('console').dataset.state)).observe(document.getElementById('console'), { attributes: true, attributeFilter: ['data-state'] })`);
    await system.restartScheduler();
    await waitForState(page, 'attached');
    expect(states).toContain('reconnecting');
    await typeLine(page, 'echo after-$((1+2))');
    const text = await waitForScreen(page, /^after-3\s*$/m);
    // The replay of the new link adds nothing the terminal showed already.
    expect(text.match(/^before-2\s*$/gm)).toHaveLength(1);
    await typeLine(page, 'exit 0');
    await waitForState(page, 'exited');
  });

  it('plays a recording back from the task page, with pause and play', async () => {
    expect(consoleTask).toBeDefined();
    const page = await newPage();
    await signIn(page);
    await page.goto(`${system.scheduler.url}/tasks/${consoleTask}`);
    const plays = page.getByRole('link', { name: /Play the recording of session/ });
    // Three attaches, and the execs that touched and tested files (listed as `tapit list consoles` does).
    expect(await plays.count()).toBeGreaterThanOrEqual(3);
    await plays.first().click();
    await page.waitForURL(/\/consoles\/[0-9a-f]{32}$/);
    // Slowly, so it is still playing when paused; then fast to its end.
    await page.getByLabel('speed').selectOption('0.5');
    await page.getByRole('button', { name: 'Pause' }).click();
    await waitForState(page, 'paused', '#recording');
    await page.getByLabel('speed').selectOption('16');
    await page.getByRole('button', { name: 'Play', exact: true }).click();
    await waitForState(page, 'ended', '#recording');
    // Its last screen: what `clear; stty size` left before the detach, at the terminal's size then.
    await waitForScreen(page, new RegExp(`^${finalSize.rows} ${finalSize.cols}\\s*$`, 'm'), '#recording-terminal');
    await page.getByRole('button', { name: 'Play from the start' }).click();
    await waitForState(page, 'ended', '#recording');
    await waitForScreen(page, new RegExp(`^${finalSize.rows} ${finalSize.cols}\\s*$`, 'm'), '#recording-terminal');
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-recording.png') });
  }, 120_000);

  it('runs a command in a running background task from its page', async () => {
    const created = await system.tapit('create', 'task', 'sleep 600');
    expect(created.code, created.stderr).toBe(0);
    const id = idFrom(created.stdout);
    expect((await system.waitForTask(id, (t) => t.status === 'RUNNING' || t.status === 'STOPPED')).status, why()).toBe('RUNNING');
    const page = await newPage();
    await signIn(page);
    await page.goto(`${system.scheduler.url}/tasks/${id}`);
    // A background task has no console of its own, only commands run in it.
    expect(await page.getByRole('link', { name: 'Open the console' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Run in the task' }).click();
    await page.waitForURL(`${system.scheduler.url}/tasks/${id}/exec?command=sh`);
    // The page (which a link can open) runs nothing until the reader presses Run.
    await waitForState(page, 'ready');
    const sessions = async () => {
      const listed = await system.tapit('list', 'consoles', `task=${id}`, '--json');
      expect(listed.code, listed.stderr).toBe(0);
      return (JSON.parse(listed.stdout) as { items: unknown[] }).items.length;
    };
    expect(await sessions()).toBe(0);
    await page.getByRole('button', { name: 'Run sh' }).click();
    await waitForState(page, 'attached');
    expect(await sessions()).toBe(1);
    await typeLine(page, 'echo exec-$((6*7)); tty');
    await waitForScreen(page, /^exec-42\s*\n\/dev\/pts\/\d+/m);
    // On a phone the terminal fits the screen: no horizontal scroll (evaluated in the page: no DOM types here).
    await page.setViewportSize({ width: 390, height: 844 });
    const fits = async () => page.evaluate<boolean>('document.documentElement.scrollWidth <= window.innerWidth');
    for (let i = 0; i < 100 && !(await fits()); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await fits()).toBe(true);
    await typeLine(page, 'exit 4');
    await waitForState(page, 'exited');
    await expect(page.locator('#console-state').textContent()).resolves.toContain('exit code 4');
    // The task itself goes on.
    expect((await system.task(id)).status).toBe('RUNNING');
    await system.tapit('task:stop', id);
  });

  it('refuses a socket without a session, from another origin, and a viewer (as the API refuses its token)', async () => {
    const created = await system.tapit('create', 'task', 'sleep 600');
    const id = idFrom(created.stdout);
    expect((await system.waitForTask(id, (t) => t.status === 'RUNNING' || t.status === 'STOPPED')).status, why()).toBe('RUNNING');
    const page = await newPage();
    await signIn(page);
    const cookie = (await page.context().cookies()).find((c) => c.name === 'tapit_session')!;
    const origin = system.scheduler.url;
    const socketUrl = `${origin.replace(/^http/, 'ws')}/tasks/${id}/exec/socket?command=${encodeURIComponent('["true"]')}`;

    const open = (headers: Record<string, string>) =>
      new Promise<{ status: number } | { opened: WebSocket }>((resolve, reject) => {
        const socket = new WebSocket(socketUrl, { headers });
        socket.once('unexpected-response', (_request, response) => resolve({ status: response.statusCode ?? 0 }));
        socket.once('open', () => resolve({ opened: socket }));
        socket.once('error', reject);
      });
    expect(await open({ origin })).toEqual({ status: 401 });
    expect(await open({ origin, cookie: `tapit_session=${'x'.repeat(43)}` })).toEqual({ status: 401 });
    expect(await open({ origin: 'http://evil.example', cookie: `tapit_session=${cookie.value}` })).toEqual({ status: 403 });
    expect(await open({ cookie: `tapit_session=${cookie.value}` })).toEqual({ status: 403 });
    // Session and Origin right: the exec runs `true` and says so.
    const accepted = await open({ origin, cookie: `tapit_session=${cookie.value}` });
    expect('opened' in accepted).toBe(true);
    const socket = (accepted as { opened: WebSocket }).opened;
    const frames: string[] = [];
    socket.on('message', (data, isBinary) => {
      if (!isBinary) frames.push(data.toString());
    });
    await new Promise((resolve) => socket.once('close', resolve));
    expect(frames.map((f) => JSON.parse(f).type)).toContain('exited');

    // A viewer's session: the broker's own check, as for the viewer's token at /v1.
    const viewer = (await system.tapit('create', 'token', 'browser-viewer', 'role=viewer', '--json'));
    expect(viewer.code, viewer.stderr).toBe(0);
    const viewerPage = await newPage();
    await signIn(viewerPage, (JSON.parse(viewer.stdout) as { token: string }).token);
    await viewerPage.goto(`${system.scheduler.url}/tasks/${id}/exec?command=sh`);
    await viewerPage.getByRole('button', { name: 'Run sh' }).click();
    await waitForState(viewerPage, 'error');
    await expect(viewerPage.locator('#console-state').textContent()).resolves.toMatch(/role viewer; this needs member/);
    await system.tapit('task:stop', id);
  });
});
