import { CreatedWebhook, DeliveryList, Webhook } from '@tapit/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settleRun } from '../schedules/settle-run.js';
import { createTestApp } from '../testing/test-app.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../testing/test-database.js';

const appPath = (project: string, app = 'web') => `/v1/projects/${project}/stages/default/apps/${app}`;

describe.each(DATABASE_KINDS)('alert API on %s', (kind) => {
  let database: TestDatabase;
  let call: Awaited<ReturnType<typeof createTestApp>>['call'];
  /** A schedule in each project, with one delivery stored. */
  const schedules: Record<'shop' | 'blog', string> = { shop: '', blog: '' };
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    ({ call } = await createTestApp(database));
    for (const project of ['shop', 'blog'] as const) {
      await call('POST', '/v1/projects', { name: project });
      await call('POST', `/v1/projects/${project}/stages/default/apps`, { name: 'web', image: 'busybox' });
      const created = await call('POST', `${appPath(project)}/schedules`, { cron: '@yearly', command: 'true', webhookUrl: `https://${project}.example.com/hook` });
      schedules[project] = created.body.id;
      const slot = { scheduleId: schedules[project], scheduledFor: new Date('2030-01-01T00:00:00Z'), trigger: 'cron' as const };
      await database.db.transaction().execute((trx) => settleRun(trx, slot, { outcome: 'skipped', reason: 'missed', missed: true }, { fresh: true }));
    }
    for (const [name, role, project] of [['shop-viewer', 'viewer', 'shop'], ['shop-member', 'member', 'shop'], ['all-viewer', 'viewer', undefined]] as const) {
      tokens[name] = (await call('POST', '/v1/tokens', { name, role, ...(project ? { project } : {}) })).body.token;
    }
  });
  afterAll(() => database.drop());

  it("shows an app webhook's secret once, when set, and never in GET, deliveries or audit", async () => {
    const set = await call('PUT', `${appPath('shop')}/webhook`, { url: 'https://alerts.example.com/tapit?token=t0p' });
    expect(set.status).toBe(200);
    const created = CreatedWebhook.parse(set.body);
    expect(created.secret).toMatch(/^whsec_[0-9a-f]{64}$/);
    expect(created).toMatchObject({ url: 'https://alerts.example.com/tapit?token=t0p', setBy: 'bootstrap' });

    const shown = await call('GET', `${appPath('shop')}/webhook`);
    expect(Webhook.strict().parse(shown.body)).toEqual({ url: created.url, setBy: 'bootstrap', setAt: created.setAt });
    expect(shown.text).not.toContain(created.secret);
    expect((await call('GET', `/v1/schedules/${schedules.shop}/deliveries`)).text).not.toContain(created.secret);
    const audit = await database.db.selectFrom('audit_events').selectAll().where('action', 'like', 'webhook.%').execute();
    expect(JSON.stringify(audit)).not.toContain(created.secret);
    // Nor the URL's query, which may be the receiver's own token.
    expect(JSON.stringify(audit)).not.toContain('t0p');
    expect(audit.find((e) => e.target_id === 'shop/default/web')).toMatchObject({ actor: 'bootstrap', action: 'webhook.set', target_type: 'app', project: 'shop', details: { url: 'https://alerts.example.com', replaced: false } });

    // Replacing makes a new secret, shown once again.
    const again = CreatedWebhook.parse((await call('PUT', `${appPath('shop')}/webhook`, { url: 'https://alerts.example.com/v2' })).body);
    expect(again.secret).not.toBe(created.secret);
    const stored = await database.db.selectFrom('webhooks').select('secret').where('url', '=', 'https://alerts.example.com/v2').executeTakeFirstOrThrow();
    expect(stored.secret).toBe(again.secret);
    expect((await call('DELETE', `${appPath('shop')}/webhook`)).status).toBe(204);
    expect((await call('GET', `${appPath('shop')}/webhook`)).status).toBe(404);
    expect((await call('DELETE', `${appPath('shop')}/webhook`)).body.error).toMatchObject({ code: 'NOT_FOUND', field: 'webhook' });
    const actions = (await database.db.selectFrom('audit_events').select('action').where('target_id', '=', 'shop/default/web').orderBy('id').execute()).map((e) => e.action);
    expect(actions).toEqual(['app.create', 'webhook.set', 'webhook.set', 'webhook.remove']);
  });

  it("lets a project's token see only its project's deliveries and webhooks", async () => {
    const mine = await call('GET', `/v1/schedules/${schedules.shop}/deliveries`, undefined, tokens['shop-viewer']);
    expect(mine.status).toBe(200);
    expect(DeliveryList.parse(mine.body).items).toMatchObject([{ scheduleId: schedules.shop, event: 'run.skipped', status: 'pending' }]);
    // Another project's schedule answers as a missing one: by id and by prefix.
    for (const ref of [schedules.blog, schedules.blog.slice(0, 8)]) {
      const theirs = await call('GET', `/v1/schedules/${ref}/deliveries`, undefined, tokens['shop-viewer']);
      expect(theirs.status).toBe(404);
      expect(theirs.body.error).toEqual({ code: 'NOT_FOUND', message: `schedule "${ref}" not found`, field: 'schedule' });
      expect((await call('GET', `/v1/schedules/${ref}/webhook`, undefined, tokens['shop-member'])).status).toBe(404);
      expect((await call('PUT', `/v1/schedules/${ref}/webhook`, { url: 'https://evil.example.com' }, tokens['shop-member'])).status).toBe(404);
      expect((await call('DELETE', `/v1/schedules/${ref}/webhook`, undefined, tokens['shop-member'])).status).toBe(404);
    }
    expect((await call('PUT', `${appPath('blog')}/webhook`, { url: 'https://evil.example.com' }, tokens['shop-member'])).status).toBe(404);
    expect((await call('GET', `/v1/schedules/${schedules.blog}/webhook`)).body.url).toBe('https://blog.example.com/hook');
    // A token for all projects sees both.
    expect((await call('GET', `/v1/schedules/${schedules.blog}/deliveries`, undefined, tokens['all-viewer'])).status).toBe(200);
  });

  it('lets viewers read and members change', async () => {
    expect((await call('GET', `/v1/schedules/${schedules.shop}/webhook`, undefined, tokens['shop-viewer'])).status).toBe(200);
    const refused = await call('PUT', `/v1/schedules/${schedules.shop}/webhook`, { url: 'https://x.example.com' }, tokens['shop-viewer']);
    expect(refused.status).toBe(403);
    expect((await call('DELETE', `${appPath('shop')}/webhook`, undefined, tokens['shop-viewer'])).status).toBe(403);
    const changed = await call('PUT', `/v1/schedules/${schedules.shop}/webhook`, { url: 'https://shop.example.com/v2' }, tokens['shop-member']);
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ url: 'https://shop.example.com/v2', setBy: 'shop-member' });
    const audited = await database.db.selectFrom('audit_events').selectAll().where('action', '=', 'webhook.set').where('target_id', '=', schedules.shop).orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect(audited).toMatchObject({ actor: 'shop-member', target_type: 'schedule', project: 'shop', details: { url: 'https://shop.example.com', replaced: true } });
  });

  it('refuses bad input naming the field, and stores nothing', async () => {
    for (const url of ['ftp://x.example.com', 'not a url', '', `https://x.example.com/${'a'.repeat(2000)}`]) {
      const bad = await call('PUT', `${appPath('shop')}/webhook`, { url });
      expect(bad.status, url).toBe(400);
      expect(bad.body.error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'url' });
    }
    expect((await call('PUT', `${appPath('shop')}/webhook`, { url: 'https://x.example.com', secret: 'mine' })).body.error).toMatchObject({ field: 'secret' });
    expect((await call('GET', `${appPath('shop')}/webhook`)).status).toBe(404);
    expect((await call('GET', `/v1/schedules/${schedules.shop}/deliveries?limit=0`)).body.error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'limit' });
    expect((await call('GET', `/v1/schedules/${schedules.shop}/deliveries?cursor=bm9wZQ`)).body.error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'cursor' });
    // Another schedule's delivery as a cursor is refused like an unknown one.
    const blogDelivery = DeliveryList.parse((await call('GET', `/v1/schedules/${schedules.blog}/deliveries`)).body).items[0];
    const foreign = await call('GET', `/v1/schedules/${schedules.shop}/deliveries?cursor=${Buffer.from(blogDelivery.id).toString('base64url')}`);
    expect(foreign.body.error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'cursor' });
  });

  it('checks a schedule reference before the token, without echoing it', async () => {
    const hostile = await call('GET', `/v1/schedules/${'Z'.repeat(300)}/deliveries`, undefined, null);
    expect(hostile.status).toBe(400);
    expect(hostile.body.error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'schedule' });
    expect(hostile.text).not.toContain('ZZZZ');
    expect((await call('GET', `/v1/schedules/${schedules.shop}/deliveries`, undefined, null)).status).toBe(401);
  });
});
