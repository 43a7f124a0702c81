import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createToken } from '../auth/tokens.js';
import { eventually } from '../testing/eventually.js';
import { ProtocolAgent } from '../testing/protocol-agent.js';
import { rawUpgrade } from '../testing/raw-upgrade.js';
import { ADMIN_TOKEN, APP_PATH } from '../testing/test-app.js';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';
import { JOIN_TOKEN, startTestScheduler } from '../testing/test-scheduler.js';
import { openSession } from './sessions.js';
import { CLOSE_BAD_REQUEST, CLOSE_SIGNED_OUT } from './browser-socket.js';

/** A dashboard page's live socket, with every message it got. */
interface Live {
  ws: WebSocket;
  messages: any[];
  closed: Promise<{ code: number; reason: string }>;
}

/** The dashboard's live sockets in a whole scheduler, with a protocol agent (no Docker). */
describe('dashboard live sockets', () => {
  let database: TestDatabase;
  let scheduler: Awaited<ReturnType<typeof startTestScheduler>>;
  let agent: ProtocolAgent;
  let adminCookie: string;
  const opened: WebSocket[] = [];

  async function cookieOf(token: string) {
    return `tapit_session=${(await openSession(database.db, token))!.sessionId}`;
  }

  async function live(path: string, cookie = adminCookie): Promise<Live> {
    const ws = new WebSocket(`${scheduler.url.replace(/^http/, 'ws')}${path}`, { headers: { cookie, origin: scheduler.url } });
    opened.push(ws);
    const messages: any[] = [];
    ws.on('message', (data) => messages.push(JSON.parse(String(data))));
    const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    return { ws, messages, closed };
  }

  const createTask = async (app = 'web', path = APP_PATH) => (await scheduler.call('POST', `${path}/${app}/tasks`, { command: 'echo hi' })).body;

  beforeAll(async () => {
    database = await createTestDatabase('postgres', { migrated: false });
    scheduler = await startTestScheduler(database);
    adminCookie = await cookieOf(ADMIN_TOKEN);
    await scheduler.call('POST', APP_PATH, { name: 'web', image: 'web:1' });
    await scheduler.call('POST', APP_PATH, { name: 'batch', image: 'batch:1' });
    await scheduler.call('POST', '/v1/projects', { name: 'other' });
    await scheduler.call('POST', '/v1/projects/other/stages', { name: 'default' });
    await scheduler.call('POST', '/v1/projects/other/stages/default/apps', { name: 'web', image: 'web:1' });
  });
  afterAll(async () => {
    for (const ws of opened) ws.terminate();
    agent?.close();
    await scheduler?.close();
    await database?.drop();
  });

  it("keeps to the token's project, and answers another project's listing as the API does", async () => {
    const { token } = await createToken(database.db, { name: 'limited', role: 'member', project: 'default' }, 'test');
    const cookie = await cookieOf(token);
    const page = await live('/live/tasks', cookie);
    const mine = await createTask('web');
    const theirs = await createTask('web', '/v1/projects/other/stages/default/apps');
    const admin = await live('/live/tasks');
    await eventually(() => page.messages.some((m) => m.id === mine.id));
    // The admin's socket lists both at once; by then the limited one had its chance to see theirs.
    await eventually(() => admin.messages.some((m) => m.id === theirs.id));
    await scheduler.call('POST', `/v1/tasks/${theirs.id}/stop`);
    await scheduler.call('POST', `/v1/tasks/${mine.id}/stop`);
    await eventually(() => page.messages.some((m) => m.id === mine.id && m.row.includes('STOPPED')));
    expect(page.messages.some((m) => m.id === theirs.id)).toBe(false);

    const refused = await live('/live/tasks?project=other', cookie);
    expect(await refused.closed).toMatchObject({ code: CLOSE_BAD_REQUEST });
    const invalid = await live('/live/tasks?status=SLEEPING');
    expect((await invalid.closed).reason).toContain('status');
  });

  it('lists the page again at once, then sends each task of its scope as it changes, rendered as a row', async () => {
    const page = await live('/live/tasks?app=web&status=RUNNING');
    // The listing again (none RUNNING yet): nothing.
    const created = await createTask('web');
    const ignored = await createTask('batch');
    await eventually(() => page.messages.some((m) => m.id === created.id));
    const row = page.messages.find((m) => m.id === created.id);
    expect(row).toMatchObject({ type: 'task', matches: false });
    expect(row.row).toMatch(new RegExp(`^<tr data-task-id="${created.id}" data-order="[^"]+\\|${created.id}">`));
    expect(row.row).toContain('PROVISIONING');
    // Stopped: it changes again (and is still not RUNNING).
    await scheduler.call('POST', `/v1/tasks/${created.id}/stop`);
    await eventually(() => page.messages.some((m) => m.id === created.id && m.row.includes('STOPPED (USER_STOPPED)')));
    // Another app's task is not in the scope (the page's own app's older task may be: it changes too).
    expect(page.messages.some((m) => m.id === ignored.id)).toBe(false);

    // An agent runs one: now it matches the filter.
    agent = await ProtocolAgent.connect(scheduler.url, JOIN_TOKEN);
    await agent.hello('alpha');
    const runs = await createTask('web');
    // Tasks left waiting before (another app's) are assigned too: the one of this test's among them.
    while ((await agent.next('task.assign')).task.taskId !== runs.id);
    agent.send({ type: 'task.status', taskId: runs.id, status: 'RUNNING', at: new Date().toISOString() });
    await eventually(() => page.messages.some((m) => m.id === runs.id && m.matches && m.row.includes('status-RUNNING')));
  });

  it("follows a task's log after the lines its page showed, in order, with its details as they change, then the stop from its page", async () => {
    const task = await createTask('web');
    while ((await agent.next('task.assign')).task.taskId !== task.id);
    agent.send({ type: 'task.status', taskId: task.id, status: 'RUNNING', at: new Date().toISOString() });
    await eventually(async () => (await scheduler.call('GET', `/v1/tasks/${task.id}`)).body.status === 'RUNNING');
    const shown = (await scheduler.call('GET', `/v1/tasks/${task.id}/logs`)).body.lines.length;
    const page = await live(`/live/tasks/${task.id}?after=${shown}`);
    await eventually(() => page.messages.some((m) => m.type === 'task' && m.status === 'RUNNING'));
    expect(page.messages.find((m) => m.type === 'task').details).toContain('<dd data-field="Status">RUNNING</dd>');
    expect(page.messages.find((m) => m.type === 'task').actions).toContain(`href="/tasks/${task.id}/stop"`);
    // 300 numbered lines in batches, as an agent ships them.
    const at = new Date().toISOString();
    for (let seq = 1; seq <= 300; seq += 50) {
      agent.send({ type: 'task.log', taskId: task.id, seq, lines: Array.from({ length: 50 }, (_, i) => ({ stream: 'stdout' as const, text: `line ${seq + i}`, at })) });
      await agent.next('task.log.ack');
    }
    const appLines = () => page.messages.filter((m) => m.type === 'lines').flatMap((m) => m.lines).filter(([, , stream]: [number, string, string]) => stream !== 'system');
    await eventually(() => appLines().length === 300);
    expect(appLines().map(([, text]: [number, string]) => text.replace(/^.* \[app\] /, ''))).toEqual(Array.from({ length: 300 }, (_, i) => `line ${i + 1}`));
    expect(appLines()[0][1]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[app\] line 1$/);
    const positions = page.messages.filter((m) => m.type === 'lines').flatMap((m) => m.lines.map(([n]: [number]) => n));
    expect(positions[0]).toBe(shown + 1);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));

    // Stop from the page: its confirmation, then its form with the session's CSRF token.
    const html = (path: string, init: RequestInit = {}) => fetch(`${scheduler.url}${path}`, { redirect: 'manual', ...init, headers: { cookie: adminCookie, ...(init.headers ?? {}) } });
    const confirm = await (await html(`/tasks/${task.id}/stop`)).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(confirm)![1]!;
    expect(confirm).toContain(`action="/tasks/${task.id}/stop"`);
    const form = (body: Record<string, string>) => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body).toString() });
    expect((await html(`/tasks/${task.id}/stop`, form({}))).status).toBe(403);
    const stopped = await html(`/tasks/${task.id}/stop`, form({ csrf }));
    expect(stopped.status).toBe(303);
    expect(stopped.headers.get('location')).toBe(`/tasks/${task.id}`);
    const stop = await agent.next('task.stop');
    expect(stop).toMatchObject({ taskId: task.id, stopCode: 'USER_STOPPED' });
    await eventually(() => page.messages.some((m) => m.type === 'task' && m.details.includes('<dd data-field="Desired status">STOPPED</dd>')));
    agent.send({ type: 'task.exited', taskId: task.id, stopCode: 'USER_STOPPED', exitCode: 143, reason: stop.reason, usage: { peakMemoryBytes: null, cpuSeconds: null, diskBytes: null }, startedAt: at, finishedAt: new Date().toISOString(), lastSeq: 300 });
    await eventually(() => page.messages.some((m) => m.type === 'end'));
    const last = page.messages.filter((m) => m.type === 'task').at(-1);
    expect(last.status).toBe('STOPPED');
    expect(last.details).toMatch(/<dd data-field="Stop code">USER_STOPPED[^<]* \(by bootstrap\)<\/dd>/);
    // Its events as they are now, in order: the stop asked (desired STOPPED), then carried out.
    const events = [...String(last.events).matchAll(/<td data-label="Status">([A-Z_]+)<\/td><td data-label="Desired status">([A-Z_]+)<\/td>/g)].map((m) => `${m[1]}/${m[2]}`);
    expect(events).toEqual(['PROVISIONING/RUNNING', 'PENDING/RUNNING', 'RUNNING/RUNNING', 'RUNNING/STOPPED', 'STOPPING/STOPPED', 'STOPPED/STOPPED']);
    expect(last.actions).toContain(`href="/tasks/${task.id}/delete"`);
    expect((await page.closed).code).toBe(1000);
    // Audited as the API's stop.
    const audit = (await scheduler.call('GET', `/v1/audit?action=task.stop`)).body;
    expect(JSON.stringify(audit)).toContain(task.id);

    // The raw log: the output alone, as `show logs --raw` prints it.
    const raw = await html(`/tasks/${task.id}/log.txt`);
    expect(raw.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(raw.headers.get('content-disposition')).toBe(`attachment; filename="task-${task.id}.log"`);
    expect(await raw.text()).toBe(Array.from({ length: 300 }, (_, i) => `line ${i + 1}\n`).join(''));

    // A viewer may read but not stop or delete; then the delete, through its confirmation.
    const { token } = await createToken(database.db, { name: 'reader', role: 'viewer' }, 'test');
    const readerCookie = await cookieOf(token);
    const readerPage = await (await fetch(`${scheduler.url}/tasks/${task.id}`, { headers: { cookie: readerCookie } })).text();
    expect(readerPage).not.toContain(`/tasks/${task.id}/delete`);
    const readerCsrf = /name="csrf" value="([^"]+)"/.exec(readerPage)![1]!;
    const refused = await fetch(`${scheduler.url}/tasks/${task.id}/delete`, { ...form({ csrf: readerCsrf }), redirect: 'manual', headers: { cookie: readerCookie, 'content-type': 'application/x-www-form-urlencoded' } });
    expect(refused.status).toBe(403);
    const deleted = await html(`/tasks/${task.id}/delete`, form({ csrf }));
    expect(deleted.status).toBe(303);
    expect((await scheduler.call('GET', `/v1/tasks/${task.id}`)).status).toBe(404);
  });

  it('closes the live sockets of a session at its sign-out', async () => {
    const { token } = await createToken(database.db, { name: 'leaving', role: 'viewer' }, 'test');
    const cookie = await cookieOf(token);
    const page = await live('/live/tasks', cookie);
    const csrf = /name="csrf" value="([^"]+)"/.exec(await (await fetch(`${scheduler.url}/tasks`, { headers: { cookie } })).text())![1]!;
    const out = await fetch(`${scheduler.url}/sign-out`, { method: 'POST', redirect: 'manual', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ csrf }).toString() });
    expect(out.status).toBe(303);
    expect(await page.closed).toEqual({ code: CLOSE_SIGNED_OUT, reason: 'signed out' });
  });

  it('refuses a live socket from another origin or without a session', async () => {
    expect((await rawUpgrade(scheduler.url, '/live/tasks', { cookie: adminCookie, origin: 'http://evil.example' })).status).toBe(403);
    expect((await rawUpgrade(scheduler.url, '/live/tasks', { origin: scheduler.url })).status).toBe(401);
  });
});
