import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { REPO_ROOT } from './repo.js';

/** Where the dashboard's browser tests leave their screenshots (docs/dashboard.md shows them). */
export const SCREENSHOTS = join(REPO_ROOT, 'docs/screenshots');

/**
 * Debian's Chromium, driven by playwright-core (no browser is downloaded), for the dashboard's
 * tests against a running scheduler: each page in a context of its own (its own cookies), all
 * closed with the browser.
 */
export class TestBrowser {
  private readonly contexts: BrowserContext[] = [];

  private constructor(
    private readonly browser: Browser,
    /** The scheduler's base URL (`http://127.0.0.1:PORT`). */
    private readonly baseUrl: string,
  ) {}

  static async launch(baseUrl: string): Promise<TestBrowser> {
    mkdirSync(SCREENSHOTS, { recursive: true });
    return new TestBrowser(await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] }), baseUrl);
  }

  url(path: string): string {
    return `${this.baseUrl}${path}`;
  }

  /** A page in a fresh context: no session. */
  async newPage(viewport = { width: 1280, height: 800 }): Promise<Page> {
    const context = await this.browser.newContext({ viewport });
    this.contexts.push(context);
    return context.newPage();
  }

  /** Signs `page` in with `token` through the sign-in form; it lands on the tasks page. */
  async signIn(page: Page, token: string): Promise<void> {
    await page.goto(this.url('/sign-in'));
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(this.url('/tasks'));
  }

  /** A fresh page signed in with `token`, on the tasks page. */
  async signedInPage(token: string, viewport?: { width: number; height: number }): Promise<Page> {
    const page = await this.newPage(viewport);
    await this.signIn(page, token);
    return page;
  }

  async close(): Promise<void> {
    for (const context of this.contexts) await context.close();
    await this.browser.close();
  }
}

/** The page is no wider than its window: nothing to scroll sideways (`what` names it in a failure). */
export async function expectFitsWidth(page: Page, what: string): Promise<void> {
  const { scrollWidth, innerWidth } = await page.evaluate<{ scrollWidth: number; innerWidth: number }>('({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth })');
  expect(scrollWidth, what).toBeLessThanOrEqual(innerWidth);
}
