import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertConsoleSession } from '../consoles/repository.js';
import { APP_PATH, createTestApp } from '../testing/test-app.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../testing/test-database.js';
import { ADMIN_TOKEN } from '../testing/test-app.js';
import { csrfTokenOf } from './csrf.js';
import { execArgv } from './exec-command.js';
import { openSession } from './sessions.js';

describe('execArgv', () => {
  it('runs plain words as they are, and a line with shell syntax through sh -c', () => {
    expect(execArgv('sh')).toEqual(['sh']);
    expect(execArgv('  ls -la /tmp ')).toEqual(['ls', '-la', '/tmp']);
    expect(execArgv('echo $HOME | wc -c')).toEqual(['sh', '-c', 'echo $HOME | wc -c']);
    expect(execArgv("bash -c 'x y'")).toEqual(['sh', '-c', "bash -c 'x y'"]);
    expect(execArgv('   ')).toEqual([]);
  });
});

describe.each(DATABASE_KINDS)('the console pages on %s', (kind) => {
  let database: TestDatabase;
  let created: Awaited<ReturnType<typeof createTestApp>>;
  let admin: string;
  let viewer: string;
  let otherProject: string;
  const taskCount = async () => Number((await database.db.selectFrom('tasks').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

  const page = (path: string, session: string) => created.app.request(path, { headers: { cookie: `tapit_session=${session}` } });
  const run = (session: string, form: Record<string, string>) =>
    created.app.request('/console', {
      method: 'POST',
      headers: { cookie: `tapit_session=${session}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    created = await createTestApp(database);
    await created.call('POST', APP_PATH, { name: 'web', image: 'web:1' });
    await created.call('POST', '/v1/projects', { name: 'other' });
    const token = async (body: object) => (await created.call('POST', '/v1/tokens', body)).body.token as string;
    admin = (await openSession(database.db, ADMIN_TOKEN))!.sessionId;
    viewer = (await openSession(database.db, await token({ name: 'looker', role: 'viewer' })))!.sessionId;
    otherProject = (await openSession(database.db, await token({ name: 'elsewhere', role: 'member', project: 'other' })))!.sessionId;
  });
  afterAll(() => database.drop());

  it('answers a form sent twice (a double click) with the one task it made, through the key the form carries', async () => {
    const form = await page('/console', admin);
    const key = /name="idempotency_key" value="([^"]+)"/.exec(await form.text())?.[1];
    expect(key).toBeDefined();
    const before = await taskCount();
    const sent = { csrf: csrfTokenOf(admin), idempotency_key: key!, project: 'default', stage: 'default', app: 'web', command: 'sh' };
    const [first, second] = [await run(admin, sent), await run(admin, sent)];
    expect([first.status, second.status]).toEqual([303, 303]);
    expect(second.headers.get('location')).toBe(first.headers.get('location'));
    expect(await taskCount()).toBe(before + 1);
    // The same key with another command: refused in the form, with a new key; nothing made.
    const changed = await run(admin, { ...sent, command: 'bash' });
    expect(changed.status).toBe(422);
    const again = await changed.text();
    expect(again).toContain('Idempotency-Key');
    expect(/name="idempotency_key" value="([^"]+)"/.exec(again)?.[1]).not.toBe(key);
    expect(await taskCount()).toBe(before + 1);
  });

  it("creates `tapit run`'s interactive task from the form and sends the browser to its console", async () => {
    const before = await taskCount();
    const answer = await run(admin, { csrf: csrfTokenOf(admin), project: 'default', stage: 'default', app: 'web', command: 'bash -l' });
    expect(answer.status).toBe(303);
    const id = /^\/tasks\/([0-9a-f]{32})\/console$/.exec(answer.headers.get('location') ?? '')?.[1];
    expect(id).toBeDefined();
    expect(await taskCount()).toBe(before + 1);
    const task = (await created.call('GET', `/v1/tasks/${id}`)).body;
    expect(task).toMatchObject({ kind: 'interactive', command: ['/bin/sh', '-c', 'bash -l'], app: 'web', createdBy: 'bootstrap' });
    // Audited as the API's create, by the session's token.
    expect((await created.call('GET', `/v1/audit?action=task.create&target=${id}`)).body.items).toMatchObject([{ actor: 'bootstrap', action: 'task.create', targetId: id }]);

    // The console page: its script, its socket, and the one CSP difference (xterm.js's inline styles).
    const console = await page(`/tasks/${id}/console`, admin);
    expect(console.status).toBe(200);
    const html = await console.text();
    expect(html).toMatch(/<script type="module" src="\/assets\/console-[0-9a-f]{12}\.js">/);
    expect(html).toContain(`data-socket="/tasks/${id}/console/socket"`);
    const csp = console.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'; connect-src 'self'");
    expect(csp).toContain("style-src 'self' 'unsafe-inline'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe/);
    // Other pages keep the strict policy, and no console script.
    const tasks = await page('/tasks', admin);
    expect(tasks.headers.get('content-security-policy')).not.toContain('unsafe');
    expect(await tasks.text()).not.toContain('/assets/console-');

    // Its script, gzipped for a browser that takes it (xterm.js: ~350 KB, ~90 KB gzipped).
    const src = /src="(\/assets\/console-[0-9a-f]{12}\.js)"/.exec(html)![1]!;
    const plain = await created.app.request(src);
    const packed = await created.app.request(src, { headers: { 'accept-encoding': 'gzip, deflate, br' } });
    expect(packed.headers.get('content-encoding')).toBe('gzip');
    expect(packed.headers.get('vary')).toBe('Accept-Encoding');
    const packedBytes = Buffer.from(await packed.arrayBuffer());
    const plainBytes = Buffer.from(await plain.arrayBuffer());
    expect(gunzipSync(packedBytes).equals(plainBytes)).toBe(true);
    expect(packedBytes.length).toBeLessThan(plainBytes.length / 3);

    const status = await page(`/tasks/${id}/status`, admin);
    expect(await status.json()).toEqual({ status: 'PROVISIONING', exitCode: null, stopCode: null });
  });

  it('refuses the form without its CSRF token, with a bad field or app, and for a viewer; nothing is created', async () => {
    const before = await taskCount();
    const form = { project: 'default', stage: 'default', app: 'web', command: 'sh' };
    expect((await run(admin, form)).status).toBe(403);
    expect((await run(admin, { ...form, csrf: csrfTokenOf(viewer) })).status).toBe(403);
    const badName = await run(admin, { ...form, app: 'Not A Name', csrf: csrfTokenOf(admin) });
    expect(badName.status).toBe(400);
    expect(await badName.text()).toMatch(/app: /);
    const empty = await run(admin, { ...form, command: '', csrf: csrfTokenOf(admin) });
    expect(empty.status).toBe(400);
    expect(await empty.text()).toMatch(/command: /);
    const missing = await run(admin, { ...form, app: 'nope', csrf: csrfTokenOf(admin) });
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('nope');
    expect((await run(viewer, { ...form, csrf: csrfTokenOf(viewer) })).status).toBe(403);
    // Another project's app is not found, as at /v1.
    expect((await run(otherProject, { ...form, csrf: csrfTokenOf(otherProject) })).status).toBe(404);
    expect(await taskCount()).toBe(before);
  });

  it('opens an exec page with the command as words, and plays recordings only to members of their project', async () => {
    const task = (await created.call('POST', `${APP_PATH}/web/tasks`, { command: 'sleep 600' })).body;
    const exec = await page(`/tasks/${task.id}/exec?command=${encodeURIComponent('ls -la /tmp')}`, admin);
    expect(exec.status).toBe(200);
    expect(await exec.text()).toContain(`data-command="[&quot;ls&quot;,&quot;-la&quot;,&quot;/tmp&quot;]"`);
    expect((await page(`/tasks/${task.id}/exec?command=%20`, admin)).status).toBe(400);
    expect((await page(`/tasks/${task.id}/console`, otherProject)).status).toBe(404);

    const session = 'ab'.repeat(16);
    await insertConsoleSession(database.db, { id: session, taskId: task.id, mode: 'exec', command: ['ls'], tty: true, cols: 80, rows: 24, openedBy: 'bootstrap', initiatedBy: null, source: null, schedulerId: 'test', inputRecorded: false });
    await database.db.insertInto('console_recording_chunks').values({ session_id: session, seq: 1, events: `${JSON.stringify([0.5, 'o', 'hello\r\n'])}\n` }).execute();
    // The task's page lists it with a link to play it.
    expect(await (await page(`/tasks/${task.id}`, admin)).text()).toContain(`href="/consoles/${session}"`);
    const player = await page(`/consoles/${session}`, admin);
    expect(player.status).toBe(200);
    expect(await player.text()).toMatch(/<script type="module" src="\/assets\/recording-[0-9a-f]{12}\.js">/);
    const cast = await page(`/consoles/${session}/recording.cast`, admin);
    expect(cast.headers.get('content-type')).toBe('application/x-asciicast');
    const [header, event] = (await cast.text()).trim().split('\n');
    expect(JSON.parse(header!)).toMatchObject({ version: 2, width: 80, height: 24 });
    expect(JSON.parse(event!)).toEqual([0.5, 'o', 'hello\r\n']);
    // As GET /v1/consoles/:session/recording: a viewer is refused, another project sees nothing.
    expect((await page(`/consoles/${session}`, viewer)).status).toBe(403);
    expect((await page(`/consoles/${session}/recording.cast`, viewer)).status).toBe(403);
    expect((await page(`/consoles/${session}/recording.cast`, otherProject)).status).toBe(404);
  });
});
