import { AuditEventList, type AuditEvent, type Task } from '@tapit/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_PATH, createTestApp } from '../testing/test-app.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../testing/test-database.js';

const SHOP_APPS = '/v1/projects/shop/stages/default/apps';

describe.each(DATABASE_KINDS)('the audit trail on %s', (kind) => {
  let database: TestDatabase;
  let call: Awaited<ReturnType<typeof createTestApp>>['call'];
  const tokens: Record<string, string> = {};
  let webTask: Task;
  let shopTask: Task;

  const audit = async (query = '', token?: string) => {
    const answer = await call('GET', `/v1/audit${query}`, undefined, token);
    expect(answer.status, answer.text).toBe(200);
    return AuditEventList.parse(answer.body);
  };
  const actionsOf = (list: { items: AuditEvent[] }) => list.items.map((e) => `${e.action} ${e.targetId}`);
  const count = async () => Number((await database.db.selectFrom('audit_events').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    ({ call } = await createTestApp(database));
    await call('POST', '/v1/projects', { name: 'shop' });
    await call('POST', APP_PATH, { name: 'web', image: 'web:1' });
    await call('POST', SHOP_APPS, { name: 'cart', image: 'cart:1' });
    for (const [name, role, project] of [
      ['shop-viewer', 'viewer', 'shop'],
      ['shop-member', 'member', 'shop'],
      ['shop-admin', 'admin', 'shop'],
      ['all-member', 'member', undefined],
    ] as const) {
      tokens[name] = (await call('POST', '/v1/tokens', { name, role, project })).body.token;
    }
    webTask = (await call('POST', `${APP_PATH}/web/tasks`, { command: 'sleep 1000' }, undefined, { 'X-Initiated-By': 'Jane%20D%C3%B6e' })).body;
    shopTask = (await call('POST', `${SHOP_APPS}/cart/tasks`, { command: 'true', initiatedBy: 'deploy-bot' }, tokens['shop-member'], { 'X-Initiated-By': 'jane' })).body;
    await call('POST', `/v1/tasks/${shopTask.id}/stop`, undefined, tokens['shop-member'], { 'X-Initiated-By': 'ops-on-call' });
  });
  afterAll(() => database.drop());

  it('lists every change, newest first, with who, on whose behalf, what, on which target and project, and when', async () => {
    const list = await audit();
    expect(actionsOf(list)).toEqual([
      `task.stop ${shopTask.id}`,
      `task.create ${shopTask.id}`,
      `task.create ${webTask.id}`,
      'token.create all-member',
      'token.create shop-admin',
      'token.create shop-member',
      'token.create shop-viewer',
      'app.create shop/default/cart',
      'app.create default/default/web',
      'project.create shop',
    ]);
    expect(list.nextCursor).toBeNull();
    const [stop, create, webCreate] = list.items;
    expect(stop).toMatchObject({ actor: 'shop-member', initiatedBy: 'ops-on-call', targetType: 'task', project: 'shop', source: null, details: {} });
    // The task's own initiatedBy wins over the header, in the task and in its event.
    expect(create).toMatchObject({ actor: 'shop-member', initiatedBy: 'deploy-bot', details: { app: 'cart', kind: 'background' } });
    expect(shopTask.initiatedBy).toBe('deploy-bot');
    // Without one, the header is the task's too (percent-decoded UTF-8).
    expect(webCreate).toMatchObject({ actor: 'bootstrap', initiatedBy: 'Jane Döe', project: 'default' });
    expect(webTask.initiatedBy).toBe('Jane Döe');
    expect(list.items.find((e) => e.action === 'project.create')?.initiatedBy).toBeNull();
    const times = list.items.map((e) => Date.parse(e.time));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(list.items.map((e) => e.id)).toEqual([...list.items.map((e) => e.id)].sort((a, b) => b - a));
  });

  it('filters by actor, action (one, or all of a kind), target (an id, its prefix, a name), project and time', async () => {
    expect(actionsOf(await audit('?actor=shop-member'))).toEqual([`task.stop ${shopTask.id}`, `task.create ${shopTask.id}`]);
    expect(actionsOf(await audit('?action=task.create'))).toEqual([`task.create ${shopTask.id}`, `task.create ${webTask.id}`]);
    expect(actionsOf(await audit('?action=task.*&actor=bootstrap'))).toEqual([`task.create ${webTask.id}`]);
    expect(actionsOf(await audit(`?target=${shopTask.id}`))).toEqual([`task.stop ${shopTask.id}`, `task.create ${shopTask.id}`]);
    expect(actionsOf(await audit(`?target=${webTask.id.slice(0, 8)}`))).toEqual([`task.create ${webTask.id}`]);
    expect(actionsOf(await audit('?target=shop/default/cart'))).toEqual(['app.create shop/default/cart']);
    expect(actionsOf(await audit('?target=shop/default'))).toEqual([]);
    expect(actionsOf(await audit('?project=shop&action=project.*'))).toEqual(['project.create shop']);
    const stop = (await audit('?action=task.stop')).items[0]!;
    expect(actionsOf(await audit(`?since=${encodeURIComponent(stop.time)}`))).toEqual([`task.stop ${shopTask.id}`]);
    expect((await audit(`?since=${new Date(Date.now() + 60_000).toISOString()}`)).items).toEqual([]);
    // The ends of what a timestamp may say.
    expect((await audit(`?since=${encodeURIComponent('0000-01-01T00:00:00+14:00')}&action=task.stop`)).items).toHaveLength(1);
    expect((await audit(`?since=${encodeURIComponent('9999-12-31T23:59:59-14:00')}`)).items).toEqual([]);
  });

  it('pages with a cursor through exactly the events of one long page', async () => {
    const all = await audit('?limit=500');
    const paged: AuditEvent[] = [];
    let cursor: string | null = null;
    do {
      const page: AuditEventList = await audit(`?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.items.length).toBeLessThanOrEqual(3);
      paged.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(paged).toEqual(all.items);
    // Filters hold across pages.
    const first = await audit('?action=token.create&limit=2');
    const second = await audit(`?action=token.create&limit=2&cursor=${first.nextCursor}`);
    expect(actionsOf(second)).toEqual(['token.create shop-member', 'token.create shop-viewer']);
    expect(second.nextCursor).toBeNull();
  });

  it('shows a project token only its project, never token events; an admin for all projects everything', async () => {
    for (const name of ['shop-viewer', 'shop-member', 'shop-admin']) {
      const list = await audit('', tokens[name]);
      expect(actionsOf(list), name).toEqual([`task.stop ${shopTask.id}`, `task.create ${shopTask.id}`, 'app.create shop/default/cart', 'project.create shop']);
      expect(list.items.every((e) => e.project === 'shop')).toBe(true);
    }
    // A token for all projects that is not an admin: every project's events, not the installation's.
    expect(actionsOf(await audit('', tokens['all-member']))).toEqual([
      `task.stop ${shopTask.id}`,
      `task.create ${shopTask.id}`,
      `task.create ${webTask.id}`,
      'app.create shop/default/cart',
      'app.create default/default/web',
      'project.create shop',
    ]);
    // Filters cannot reach past it: another project's task, or the token events.
    expect((await audit(`?target=${webTask.id}`, tokens['shop-viewer'])).items).toEqual([]);
    expect((await audit('?action=token.*', tokens['all-member'])).items).toEqual([]);
    const other = await call('GET', '/v1/audit?project=default', undefined, tokens['shop-viewer']);
    expect(other.status).toBe(404);
    expect(other.body.error.code).toBe('NOT_FOUND');
  });

  it("refuses a cursor that is not one of the reader's events, naming cursor", async () => {
    const tokenEvent = (await audit('?action=token.create&limit=1')).nextCursor!;
    const answer = await call('GET', `/v1/audit?cursor=${tokenEvent}`, undefined, tokens['shop-viewer']);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'cursor' });
    const forged = await call('GET', `/v1/audit?cursor=${Buffer.from('not-an-id').toString('base64url')}`);
    expect(forged.body.error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'cursor' });
  });

  it.each([
    ['since', '?since=1h', 'since'],
    ['action', '?action=task.run', 'task.create, task.stop, task.delete'],
    ['action', '?action=bogus.*', 'such as task.*'],
    ['limit', '?limit=0', 'limit'],
    ['actor', '?actor=', 'actor'],
    ['stage', '?stage=default', 'stage'],
  ])('refuses a bad filter with 400 naming %s and what it takes (%s)', async (field, query, says) => {
    const answer = await call('GET', `/v1/audit${query}`);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'VALIDATION_FAILED', field });
    expect(answer.body.error.message).toContain(says);
  });

  it('writes nothing when read', async () => {
    const before = await count();
    await audit();
    await audit('?action=task.*', tokens['shop-viewer']);
    expect(await count()).toBe(before);
  });

  it('cuts a long X-Initiated-By to 200 characters, and refuses control characters or bad escapes, naming the header, changing nothing', async () => {
    await call('POST', '/v1/projects', { name: 'long' }, undefined, { 'X-Initiated-By': 'x'.repeat(5000) });
    const [event] = (await audit('?action=project.create&limit=1')).items;
    expect(event!.initiatedBy).toBe(`${'x'.repeat(199)}…`);
    const before = await count();
    for (const header of ['evil%1B%5B2J', 'fake%0A[system]', '100%']) {
      const refused = await call('POST', '/v1/projects', { name: 'refused' }, undefined, { 'X-Initiated-By': header });
      expect(refused.status, header).toBe(400);
      expect(refused.body.error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'X-Initiated-By' });
    }
    expect(await count()).toBe(before);
    expect((await call('GET', '/v1/projects')).body.items.map((p: { name: string }) => p.name)).not.toContain('refused');
  });

  it('keeps the events of a deleted task', async () => {
    const task = (await call('POST', `${APP_PATH}/web/tasks`, { command: 'true' })).body as Task;
    await call('POST', `/v1/tasks/${task.id}/stop`);
    expect((await call('DELETE', `/v1/tasks/${task.id}`)).status).toBe(204);
    expect((await call('GET', `/v1/tasks/${task.id}`)).status).toBe(404);
    expect(actionsOf(await audit(`?target=${task.id}`))).toEqual([`task.delete ${task.id}`, `task.stop ${task.id}`, `task.create ${task.id}`]);
  });
});
