import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardSession } from '../testing/dashboard-session.js';
import { ADMIN_TOKEN, type createTestApp } from '../testing/test-app.js';
import { twoProjectsApp } from '../testing/two-projects.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../testing/test-database.js';

describe.each(DATABASE_KINDS)('the schedules pages on %s', (kind) => {
  let database: TestDatabase;
  let app: Awaited<ReturnType<typeof createTestApp>>['app'];
  let call: Awaited<ReturnType<typeof createTestApp>>['call'];
  let nightly: string;
  let shopHourly: string;
  let tokens: Record<'viewer' | 'shopMember', string>;

  const schedule = async (id: string) => (await call('GET', `/v1/schedules/${id}`)).body;
  const auditOf = async (id: string) => ((await call('GET', `/v1/audit?target=${id}`)).body.items as { action: string; actor: string }[]).map((e) => `${e.actor} ${e.action}`);

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    const { token, ...created } = await twoProjectsApp(database);
    ({ app, call } = created);
    nightly = (await call('POST', '/v1/projects/default/stages/default/apps/web/schedules', { cron: '30 2 * * *', timezone: 'Europe/Paris', command: 'rake nightly' })).body.id;
    shopHourly = (await call('POST', '/v1/projects/shop/stages/default/apps/cart/schedules', { cron: '@hourly', command: 'sync-cart' })).body.id;
    tokens = { viewer: await token('sched-viewer', 'viewer'), shopMember: await token('shop-scheduler', 'member', 'shop') };
  });
  afterAll(() => database.drop());

  it("lists the schedules with the CLI's columns and shows one with its next runs", async () => {
    const browser = await dashboardSession(app, ADMIN_TOKEN);
    const list = await (await browser.get('/schedules')).text();
    for (const word of ['NEXT RUN (UTC)', 'FAILING', '30 2 * * *', 'Europe/Paris', 'default/default/web', 'shop/default/cart', `href="/schedules/${nightly}"`]) expect(list).toContain(word);
    const filtered = await (await browser.get('/schedules?project=shop')).text();
    expect(filtered).not.toContain('30 2 * * *');
    expect(filtered).toContain('@hourly');
    const page = await (await browser.get(`/schedules/${nightly.slice(0, 8)}`)).text();
    for (const word of ['rake nightly', 'LOCAL (Europe/Paris)', '02:30:00 +0', 'Recent runs', '>Suspend</button>', '>Trigger now</button>']) expect(page).toContain(word);
  });

  it('suspends, resumes and triggers through the API\'s changes, audited as the session\'s token', async () => {
    const browser = await dashboardSession(app, ADMIN_TOKEN);
    const suspended = await browser.post(`/schedules/${nightly}/suspend`);
    expect(suspended.status).toBe(303);
    expect(suspended.headers.get('location')).toBe(`/schedules/${nightly}?done=suspend`);
    expect((await schedule(nightly)).suspended).toBe(true);
    const page = await (await browser.get(`/schedules/${nightly}?done=suspend`)).text();
    expect(page).toContain('>Resume</button>');
    expect(page).toContain('Suspended: no slot fires');

    expect((await browser.post(`/schedules/${nightly}/resume`)).status).toBe(303);
    expect((await schedule(nightly)).suspended).toBe(false);

    const triggered = await browser.post(`/schedules/${nightly}/trigger`);
    expect(triggered.status).toBe(303);
    const taskId = new URL(triggered.headers.get('location')!, 'http://x').searchParams.get('task')!;
    expect((await call('GET', `/v1/tasks/${taskId}`)).body).toMatchObject({ scheduleId: nightly, command: ['/bin/sh', '-c', 'rake nightly'] });
    const history = await (await browser.get(`/schedules/${nightly}`)).text();
    expect(history).toContain(`href="/tasks/${taskId.slice(0, 12)}"`);
    expect(history).toContain('manual');
    expect(await auditOf(nightly)).toEqual(expect.arrayContaining(['bootstrap schedule.suspend', 'bootstrap schedule.resume', 'bootstrap schedule.trigger']));
  });

  it('refuses a viewer (403), a form without its CSRF token (403), and shows a project token only its project', async () => {
    const viewer = await dashboardSession(app, tokens.viewer);
    expect(await (await viewer.get(`/schedules/${nightly}`)).text()).not.toContain('>Trigger now</button>');
    for (const verb of ['suspend', 'resume', 'trigger']) expect((await viewer.post(`/schedules/${nightly}/${verb}`)).status).toBe(403);
    const admin = await dashboardSession(app, ADMIN_TOKEN);
    expect((await admin.post(`/schedules/${nightly}/suspend`, { csrf: '' })).status).toBe(403);
    expect((await admin.post(`/schedules/${nightly}/trigger`, { csrf: 'forged' })).status).toBe(403);
    expect((await schedule(nightly)).suspended).toBe(false);

    const shop = await dashboardSession(app, tokens.shopMember);
    const list = await (await shop.get('/schedules')).text();
    expect(list).toContain('@hourly');
    expect(list).not.toContain('30 2 * * *');
    expect((await shop.get('/schedules?project=default')).status).toBe(404);
    expect((await shop.get(`/schedules/${nightly}`)).status).toBe(404);
    expect((await shop.post(`/schedules/${nightly}/suspend`)).status).toBe(404);
    expect((await schedule(nightly)).suspended).toBe(false);
    expect((await shop.post(`/schedules/${shopHourly}/suspend`)).status).toBe(303);
    expect((await schedule(shopHourly)).suspended).toBe(true);
  });

  it('answers a bad filter 400 naming it', async () => {
    const browser = await dashboardSession(app, ADMIN_TOKEN);
    const bad = await browser.get('/schedules?project=Not%20A%20Name');
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/role="alert">project: /);
  });
});
