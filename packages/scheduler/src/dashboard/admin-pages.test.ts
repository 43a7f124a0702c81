import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardSession } from '../testing/dashboard-session.js';
import { holdRunning } from '../testing/schedules.js';
import { ADMIN_TOKEN, type createTestApp } from '../testing/test-app.js';
import { twoProjectsApp } from '../testing/two-projects.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../testing/test-database.js';

/** The agents, audit and tokens pages: what each token may see and change, as at /v1. */
describe.each(DATABASE_KINDS)('the agents, audit and tokens pages on %s', (kind) => {
  let database: TestDatabase;
  let app: Awaited<ReturnType<typeof createTestApp>>['app'];
  let call: Awaited<ReturnType<typeof createTestApp>>['call'];
  let tokens: Record<'viewer' | 'shopViewer' | 'shopAdmin', string>;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    const { token, ...created } = await twoProjectsApp(database);
    ({ app, call } = created);
    const agent = (name: string, status: string) => ({ name, status, capacity_cpu: 4, capacity_memory_gb: 8, version: '1.2.3', scheduler_id: null, connected_at: null, last_seen_at: new Date(), not_ready_reason: null, credential_hash: null, bound_at: null, joined_with: null, revoked_at: null, capacity_cpu_set: null, capacity_memory_gb_set: null });
    await database.db.insertInto('agents').values([agent('host-a', 'online'), agent('host-b', 'offline')]).execute();
    const shopTask = (await call('POST', '/v1/projects/shop/stages/default/apps/cart/tasks', { command: 'sync-cart', cpu: 0.5, memoryGb: 1 })).body.id;
    await holdRunning(database.db, shopTask, 'host-a');
    await call('POST', '/v1/projects/default/stages/default/apps/web/tasks', { command: 'echo default' });
    tokens = { viewer: await token('all-viewer', 'viewer'), shopViewer: await token('shop-viewer', 'viewer', 'shop'), shopAdmin: await token('shop-admin', 'admin', 'shop') };
  });
  afterAll(() => database.drop());

  it("lists the agents with list agents' columns; a project token sees only those running its tasks", async () => {
    const admin = await dashboardSession(app, ADMIN_TOKEN);
    const page = await (await admin.get('/agents')).text();
    for (const word of ['NOT READY BECAUSE', 'host-a', 'host-b', '1.2.3', '0.5/4', '1/8', 'offline']) expect(page).toContain(word);
    const shop = await (await (await dashboardSession(app, tokens.shopViewer)).get('/agents')).text();
    expect(shop).toContain('host-a');
    expect(shop).not.toContain('host-b');
    expect(shop).not.toContain('0.5/4');
  });

  it("lists the audit trail with list audit's filters, in the API's cursor pages, within the token's view", async () => {
    const admin = await dashboardSession(app, ADMIN_TOKEN);
    const all = await (await admin.get('/audit')).text();
    for (const word of ['TIME (UTC)', 'task.create', 'token.create', 'app shop/default/cart']) expect(all).toContain(word);
    const creates = await (await admin.get('/audit?action=task.*&since=1h&actor=bootstrap')).text();
    expect(creates).toContain('task.create');
    expect(creates).not.toContain('token.create');
    const first = await (await admin.get('/audit?limit=2')).text();
    const older = /href="(\/audit\?limit=2&amp;cursor=[^"]+)" rel="next">Older events/.exec(first);
    expect(older).not.toBeNull();
    const second = await admin.get(older![1]!.replace(/&amp;/g, '&'));
    expect(second.status).toBe(200);
    expect(await second.text()).toContain('>Newest</a>');
    const bad = await admin.get('/audit?action=nonsense');
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/role="alert">action: must be an action \(/);

    const shop = await dashboardSession(app, tokens.shopViewer);
    const shopEvents = await (await shop.get('/audit')).text();
    expect(shopEvents).toContain('app shop/default/cart');
    expect(shopEvents).not.toContain('app default/default/web');
    expect(shopEvents).not.toContain('token.create');
    expect((await shop.get('/audit?project=default')).status).toBe(404);
  });

  it('lets an admin of all projects create a token (its secret shown once) and revoke one after a confirmation', async () => {
    const admin = await dashboardSession(app, ADMIN_TOKEN);
    const list = await (await admin.get('/tokens')).text();
    for (const word of ['NAME', 'ROLE', 'shop-viewer', '(all)', 'href="/tokens/shop-viewer/revoke"']) expect(list).toContain(word);
    const created = await admin.post('/tokens', { name: 'ci-deploy', role: 'member', project: 'shop' });
    expect(created.status).toBe(200);
    // The one answer that holds the secret is kept by no cache, the browser's back button included.
    expect(created.headers.get('cache-control')).toBe('no-store');
    const secret = /id="new-secret">([^<]+)</.exec(await created.text())![1]!;
    expect((await call('GET', '/v1/whoami', undefined, secret)).body).toEqual({ name: 'ci-deploy', role: 'member', project: 'shop' });
    expect(await (await admin.get('/tokens')).text()).not.toContain(secret);

    const taken = await admin.post('/tokens', { name: 'ci-deploy', role: 'member' });
    expect(taken.status).toBe(409);
    const badRole = await admin.post('/tokens', { name: 'x1', role: 'owner' });
    expect(badRole.status).toBe(400);
    expect(await badRole.text()).toMatch(/role: [^<]*admin[^<]*member[^<]*viewer/);

    const confirm = await admin.get('/tokens/ci-deploy/revoke');
    expect(await confirm.text()).toContain('Revoke token &quot;ci-deploy&quot;?');
    // Asking is not revoking.
    expect((await call('GET', '/v1/whoami', undefined, secret)).status).toBe(200);
    const revoked = await admin.post('/tokens/ci-deploy/revoke');
    expect(revoked.headers.get('location')).toBe('/tokens?revoked=ci-deploy');
    expect((await call('GET', '/v1/whoami', undefined, secret)).status).toBe(401);
    const events = (await call('GET', '/v1/audit?target=ci-deploy')).body.items.map((e: { actor: string; action: string }) => `${e.actor} ${e.action}`);
    expect(events).toEqual(['bootstrap token.revoke', 'bootstrap token.create']);
  });

  it('refuses the tokens page and its forms to others as the API does (403), and forms without their CSRF token', async () => {
    for (const token of [tokens.viewer, tokens.shopAdmin]) {
      const browser = await dashboardSession(app, token);
      expect((await browser.get('/tokens')).status).toBe(403);
      expect((await call('GET', '/v1/tokens', undefined, token)).status).toBe(403);
      expect((await browser.post('/tokens', { name: 'sneaky', role: 'admin' })).status).toBe(403);
      expect((await browser.get('/tokens/all-viewer/revoke')).status).toBe(403);
      expect((await browser.post('/tokens/all-viewer/revoke')).status).toBe(403);
      expect(await (await browser.get('/agents')).text()).not.toContain('href="/tokens"');
    }
    const admin = await dashboardSession(app, ADMIN_TOKEN);
    expect((await admin.post('/tokens', { csrf: '', name: 'sneaky', role: 'admin' })).status).toBe(403);
    expect((await admin.post('/tokens/all-viewer/revoke', { csrf: 'forged' })).status).toBe(403);
    const names = (await call('GET', '/v1/tokens')).body.items.map((t: { name: string; revokedAt: string | null }) => `${t.name} ${t.revokedAt === null}`);
    expect(names).toContain('all-viewer true');
    expect(names.some((n: string) => n.startsWith('sneaky'))).toBe(false);
  });
});
