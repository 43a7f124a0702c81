import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardSession } from '../testing/dashboard-session.js';
import { ADMIN_TOKEN, type createTestApp } from '../testing/test-app.js';
import { twoProjectsApp } from '../testing/two-projects.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../testing/test-database.js';

/** A small files limit (TAPIT_TASK_FILES_MAX_BYTES), to pass it. */
const FILES_MAX = 64 * 1024;

describe.each(DATABASE_KINDS)('the run-a-task page on %s', (kind) => {
  let database: TestDatabase;
  let app: Awaited<ReturnType<typeof createTestApp>>['app'];
  let call: Awaited<ReturnType<typeof createTestApp>>['call'];
  let tokens: Record<'viewer' | 'member' | 'shopMember', string>;

  const taskCount = async () => Number((await database.db.selectFrom('tasks').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    const { token, ...created } = await twoProjectsApp(database, { taskFilesMaxBytes: FILES_MAX });
    ({ app, call } = created);
    tokens = { viewer: await token('run-viewer', 'viewer'), member: await token('run-member', 'member'), shopMember: await token('shop-member', 'member', 'shop') };
  });
  afterAll(() => database.drop());

  it("creates a task with the form's keys, through the API's create (audited, its page next)", async () => {
    const browser = await dashboardSession(app, tokens.member);
    const form = await (await browser.get('/run')).text();
    expect(form).toContain('<option value="default/default/web"');
    expect(form).toContain('<option value="shop/default/cart"');
    const key = /name="idempotency_key" value="([^"]+)"/.exec(form)![1]!;
    const fields = {
      app: 'default/default/web',
      command: 'echo hello && rake db:migrate',
      cpu: '0.5',
      memory: '0.25',
      max_hours: '2',
      ephemeral_storage_gb: '3',
      image: 'busybox:1.36',
      constraint: 'region=eu',
      initiated_by: 'alice',
      keep: '10m',
      entrypoint: '/bin/sh\n-c',
      env: 'RAILS_ENV=production\nTOKEN=s3cret',
      idempotency_key: key,
    };
    const created = await browser.post('/run', fields);
    expect(created.status).toBe(303);
    const id = created.headers.get('location')!.replace('/tasks/', '');
    const task = (await call('GET', `/v1/tasks/${id}`)).body;
    expect(task).toMatchObject({
      project: 'default',
      app: 'web',
      command: ['/bin/sh', '-c', 'echo hello && rake db:migrate'],
      entrypoint: ['/bin/sh', '-c'],
      image: 'busybox:1.36',
      resources: { cpu: 0.5, memoryGb: 0.25, maxHours: 2, ephemeralStorageGb: 3 },
      constraints: { region: 'eu' },
      initiatedBy: 'alice',
      createdBy: 'run-member',
      envKeys: ['RAILS_ENV', 'TOKEN'],
    });
    const kept = await database.db.selectFrom('tasks').select('keep_seconds').where('id', '=', id).executeTakeFirstOrThrow();
    expect(kept.keep_seconds).toBe(600);
    const audit = (await call('GET', `/v1/audit?action=task.create&target=${id}`)).body.items;
    expect(audit).toMatchObject([{ actor: 'run-member', action: 'task.create' }]);
    // The same form sent again (a double click, a reload) answers the same task.
    const before = await taskCount();
    const again = await browser.post('/run', fields);
    expect(again.headers.get('location')).toBe(`/tasks/${id}`);
    expect(await taskCount()).toBe(before);
    // The same form restored from the history and changed: refused once, with a new key to go on.
    const changed = await browser.post('/run', { ...fields, command: 'echo changed' });
    expect(changed.status).toBe(422);
    const page = await changed.text();
    expect(page).toContain('This form was already sent with other values');
    const fresh = /name="idempotency_key" value="([^"]+)"/.exec(page)![1]!;
    expect(fresh).not.toBe(key);
    const another = await browser.post('/run', { ...fields, command: 'echo changed', idempotency_key: fresh });
    expect(another.status).toBe(303);
    expect(another.headers.get('location')).not.toBe(`/tasks/${id}`);
    expect(await taskCount()).toBe(before + 1);
  });

  it('copies the files picked into the container folder given, as --file does, within the files limit', async () => {
    const browser = await dashboardSession(app, tokens.member);
    const form = new FormData();
    form.set('app', 'default/default/web');
    form.set('command', 'ruby /app/fix.rb');
    form.append('file', new File(['puts 1\n'], 'fix.rb'));
    form.append('file', new File(['#!/bin/sh\necho hi\n'], 'run.sh'));
    form.set('file_dir', '/app/');
    form.set('file_mode', '755');
    const created = await browser.postMultipart('/run', form);
    expect(created.status).toBe(303);
    const id = created.headers.get('location')!.replace('/tasks/', '');
    const files = await database.db.selectFrom('task_files').select(['path', 'mode', 'content']).where('task_id', '=', id).orderBy('position').execute();
    expect(files.map((f) => [f.path, f.mode, Buffer.from(f.content).toString()])).toEqual([
      ['/app/fix.rb', 0o755, 'puts 1\n'],
      ['/app/run.sh', 0o755, '#!/bin/sh\necho hi\n'],
    ]);

    const before = await taskCount();
    const noFolder = new FormData();
    noFolder.set('app', 'default/default/web');
    noFolder.set('command', 'true');
    noFolder.append('file', new File(['x'], 'x.txt'));
    const refused = await browser.postMultipart('/run', noFolder);
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('files: give the folder in the container');
    const tooBig = new FormData();
    tooBig.set('app', 'default/default/web');
    tooBig.set('command', 'true');
    tooBig.set('file_dir', '/data');
    tooBig.append('file', new File([new Uint8Array(FILES_MAX + 1)], 'big.bin'));
    const large = await browser.postMultipart('/run', tooBig);
    expect(large.status).toBe(413);
    expect(await large.text()).toContain(`at most ${FILES_MAX} bytes together (TAPIT_TASK_FILES_MAX_BYTES)`);
    expect(await taskCount()).toBe(before);
  });

  it('re-renders the form with the API error naming the field, 400, and creates nothing', async () => {
    const browser = await dashboardSession(app, tokens.member);
    const before = await taskCount();
    const tooBig = await browser.post('/run', { app: 'default/default/web', command: 'x', memory: '100000' });
    expect(tooBig.status).toBe(400);
    const page = await tooBig.text();
    expect(page).toMatch(/role="alert" id="run-error">memoryGb: [^<]*at most/);
    expect(page).toMatch(/id="r-memory" name="memory" type="text" inputmode="decimal" value="100000" aria-invalid="true"/);
    const badKind = await browser.post('/run', { app: 'default/default/web', command: 'x', kind: 'sometimes' });
    expect(badKind.status).toBe(400);
    expect(await badKind.text()).toMatch(/kind: [^<]*background[^<]*interactive/);
    const notNumber = await browser.post('/run', { app: 'default/default/web', command: 'x', cpu: 'lots' });
    expect(await notNumber.text()).toContain('cpu: must be a number');
    const notDuration = await browser.post('/run', { app: 'default/default/web', command: 'x', keep: '8d' });
    expect(notDuration.status).toBe(400);
    expect(await notDuration.text()).toMatch(/keepSeconds: [^<]*7 days/);
    expect((await browser.post('/run', { app: 'default/default/web', command: '' })).status).toBe(400);
    expect((await browser.post('/run', { app: 'default/default/nope', command: 'x' })).status).toBe(404);
    expect(await taskCount()).toBe(before);
  });

  it("refuses a viewer (403), another project's app for a project token (404), and a form without its CSRF token (403)", async () => {
    const before = await taskCount();
    const viewer = await dashboardSession(app, tokens.viewer);
    const refused = await viewer.post('/run', { app: 'default/default/web', command: 'echo no' });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('has role viewer; this needs member or above');

    const shop = await dashboardSession(app, tokens.shopMember);
    const form = await (await shop.get('/run')).text();
    expect(form).toContain('shop/default/cart');
    expect(form).not.toContain('default/default/web');
    expect((await shop.post('/run', { app: 'default/default/web', command: 'echo no' })).status).toBe(404);

    const member = await dashboardSession(app, ADMIN_TOKEN);
    expect((await member.post('/run', { csrf: '', app: 'default/default/web', command: 'echo no' })).status).toBe(403);
    expect((await member.post('/run', { csrf: 'forged', app: 'default/default/web', command: 'echo no' })).status).toBe(403);
    expect(await taskCount()).toBe(before);
  });
});
