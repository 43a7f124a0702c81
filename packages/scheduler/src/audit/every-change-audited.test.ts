import { encodeConsoleData, ConsoleChannel, type Task } from '@tapit/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerCopy, dialBack, openConsoleClient } from '../testing/console-client.js';
import { eventually } from '../testing/eventually.js';
import { OPERATIONS, type Operation } from '../http/openapi.js';
import { AuthFailures } from '../auth/auth-failures.js';
import { dashboardRoutes } from '../dashboard/routes.js';
import type { AppDeps } from '../http/context.js';
import { ProtocolAgent } from '../testing/protocol-agent.js';
import { ADMIN_TOKEN, APP_PATH, createTestApp } from '../testing/test-app.js';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';
import { JOIN_TOKEN, startTestScheduler } from '../testing/test-scheduler.js';

/*
 * Every change through the API writes exactly one audit event, in the transaction of the change,
 * naming its actor, the client's X-Initiated-By, its address, the target and the project; no read
 * writes any. The walk is over the OpenAPI operations, which are checked against the routes the
 * app serves: a route added without its case here (and so without proof of its audit) fails.
 */

const INITIATED_BY = 'Walker Ünïcode';
const SHOP = '/v1/projects/shop/stages/default/apps';

/** The audit event a change must write (actor: the admin token, source: loopback). */
interface Expected {
  action: string;
  targetType: string;
  targetId: string;
  project: string | null;
}

/** A change, made ready: its concrete path and body, and the event it must write. */
interface Change {
  path: string;
  body?: unknown;
  status: number;
  expected: Expected;
}

describe('every change is audited once, every read never', () => {
  let database: TestDatabase;
  let scheduler: Awaited<ReturnType<typeof startTestScheduler>>;
  let agent: ProtocolAgent;
  /** Where the reads point: filled as the walk goes. */
  const ids = { task: '', stoppedTask: '', schedule: '', session: '' };

  const send = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${scheduler.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', 'x-initiated-by': encodeURIComponent(INITIATED_BY) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, text, body: text && response.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : undefined };
  };
  const made = async (method: string, path: string, body?: unknown) => {
    const answer = await send(method, path, body);
    expect(answer.status, `${method} ${path}: ${answer.text}`).toBeLessThan(300);
    return answer.body;
  };
  const lastId = async () => (await database.db.selectFrom('audit_events').select((eb) => eb.fn.max('id').as('id')).executeTakeFirst())?.id ?? 0;
  const eventsAfter = (id: number) => database.db.selectFrom('audit_events').selectAll().where('id', '>', id).orderBy('id').execute();
  /** A task no agent takes (a label none carries): it stops at once when asked to. */
  const newTask = async (command = 'sleep 1000') => ((await made('POST', `${APP_PATH}/web/tasks`, { command, constraints: { placed: 'never' } })) as Task).id;
  const newSchedule = async () => ((await made('POST', `${APP_PATH}/web/schedules`, { cron: '@yearly', command: 'true' })) as { id: string }).id;
  const offlineAgent = async (name: string) => {
    await database.db
      .insertInto('agents')
      .values({ name, status: 'offline', capacity_cpu: 1, capacity_memory_gb: 1, version: 'test', scheduler_id: null, connected_at: null, last_seen_at: new Date(), not_ready_reason: null, credential_hash: null, bound_at: null, joined_with: null, revoked_at: null, capacity_cpu_set: null, capacity_memory_gb_set: null })
      .execute();
  };
  const expected = (action: string, targetType: string, targetId: string, project: string | null = 'default'): Expected => ({ action, targetType, targetId, project });

  /** Per mutating operation: what it takes to call it once, and the event it must write. */
  const CHANGES: Record<string, () => Promise<Change>> = {
    'POST /v1/projects': async () => ({ path: '/v1/projects', body: { name: 'walked' }, status: 201, expected: expected('project.create', 'project', 'walked', 'walked') }),
    'POST /v1/projects/{project}/stages': async () => ({ path: '/v1/projects/shop/stages', body: { name: 'staging' }, status: 201, expected: expected('stage.create', 'stage', 'shop/staging', 'shop') }),
    'POST /v1/projects/{project}/stages/{stage}/apps': async () => ({ path: SHOP, body: { name: 'api', image: 'api:1' }, status: 201, expected: expected('app.create', 'app', 'shop/default/api', 'shop') }),
    'PATCH /v1/projects/{project}/stages/{stage}/apps/{app}': async () => ({ path: `${SHOP}/cart`, body: { constraints: { region: 'eu' } }, status: 200, expected: expected('app.update', 'app', 'shop/default/cart', 'shop') }),
    'POST /v1/projects/{project}/stages/{stage}/apps/{app}/releases': async () => ({ path: `${SHOP}/cart/releases`, body: { image: 'cart:2' }, status: 201, expected: expected('release.create', 'app', 'shop/default/cart', 'shop') }),
    'PATCH /v1/projects/{project}/stages/{stage}/apps/{app}/env': async () => ({ path: `${SHOP}/cart/env`, body: { vars: { RAILS_ENV: 'production' } }, status: 200, expected: expected('env.update', 'app', 'shop/default/cart', 'shop') }),
    'POST /v1/projects/{project}/stages/{stage}/apps/{app}/tasks': async () => ({ path: `${SHOP}/cart/tasks`, body: { command: 'true' }, status: 201, expected: expected('task.create', 'task', '(the answer)', 'shop') }),
    'POST /v1/tasks/{id}/stop': async () => {
      const id = await newTask();
      return { path: `/v1/tasks/${id}/stop`, status: 202, expected: expected('task.stop', 'task', id) };
    },
    'POST /v1/tasks/{id}/copy': async () => {
      // The agent sends the file once asked, as tapit-agent does.
      void agent.next('task.copy').then((copy) => answerCopy(scheduler.url, agent.credential, copy, Buffer.from('id,total\n1,2\n')));
      return { path: `/v1/tasks/${ids.task}/copy`, body: { path: '/app/export.csv' }, status: 200, expected: expected('task.copy', 'task', ids.task) };
    },
    'DELETE /v1/tasks/{id}': async () => {
      const id = await newTask();
      await made('POST', `/v1/tasks/${id}/stop`);
      return { path: `/v1/tasks/${id}`, status: 204, expected: expected('task.delete', 'task', id) };
    },
    'POST /v1/projects/{project}/stages/{stage}/apps/{app}/schedules': async () => ({
      path: `${APP_PATH}/web/schedules`,
      body: { cron: '@daily', command: 'true', webhookUrl: 'https://alerts.example.com/tapit' },
      status: 201,
      expected: expected('schedule.create', 'schedule', '(the answer)'),
    }),
    'DELETE /v1/schedules/{id}': async () => {
      const id = await newSchedule();
      return { path: `/v1/schedules/${id}`, status: 204, expected: expected('schedule.delete', 'schedule', id) };
    },
    'POST /v1/schedules/{id}/suspend': async () => ({ path: `/v1/schedules/${ids.schedule}/suspend`, status: 200, expected: expected('schedule.suspend', 'schedule', ids.schedule) }),
    'POST /v1/schedules/{id}/resume': async () => {
      const id = await newSchedule();
      await made('POST', `/v1/schedules/${id}/suspend`);
      return { path: `/v1/schedules/${id}/resume`, status: 200, expected: expected('schedule.resume', 'schedule', id) };
    },
    'POST /v1/schedules/{id}/trigger': async () => ({ path: `/v1/schedules/${ids.schedule}/trigger`, status: 201, expected: expected('schedule.trigger', 'schedule', ids.schedule) }),
    'PATCH /v1/agents/{name}': async () => {
      await offlineAgent('patched');
      return { path: '/v1/agents/patched', body: { drained: true }, status: 200, expected: expected('agent.update', 'agent', 'patched', null) };
    },
    'POST /v1/agents/{name}/revoke': async () => {
      await offlineAgent('revoked');
      return { path: '/v1/agents/revoked/revoke', status: 204, expected: expected('agent.revoke', 'agent', 'revoked', null) };
    },
    'DELETE /v1/agents/{name}': async () => {
      await offlineAgent('deleted');
      return { path: '/v1/agents/deleted', status: 204, expected: expected('agent.delete', 'agent', 'deleted', null) };
    },
    'POST /v1/join-tokens': async () => ({ path: '/v1/join-tokens', body: { name: 'rack-1' }, status: 201, expected: expected('join-token.create', 'join-token', 'rack-1', null) }),
    'DELETE /v1/join-tokens/{name}': async () => ({ path: '/v1/join-tokens/rack-1', status: 204, expected: expected('join-token.revoke', 'join-token', 'rack-1', null) }),
    'PUT /v1/schedules/{id}/webhook': async () => ({ path: `/v1/schedules/${ids.schedule}/webhook`, body: { url: 'https://alerts.example.com/other' }, status: 200, expected: expected('webhook.set', 'schedule', ids.schedule) }),
    'DELETE /v1/schedules/{id}/webhook': async () => {
      const id = await newSchedule();
      await made('PUT', `/v1/schedules/${id}/webhook`, { url: 'https://alerts.example.com/gone' });
      return { path: `/v1/schedules/${id}/webhook`, status: 204, expected: expected('webhook.remove', 'schedule', id) };
    },
    'PUT /v1/projects/{project}/stages/{stage}/apps/{app}/webhook': async () => ({
      path: `${SHOP}/cart/webhook`,
      body: { url: 'https://alerts.example.com/cart' },
      status: 200,
      expected: expected('webhook.set', 'app', 'shop/default/cart', 'shop'),
    }),
    'DELETE /v1/projects/{project}/stages/{stage}/apps/{app}/webhook': async () => {
      await made('PUT', `${APP_PATH}/web/webhook`, { url: 'https://alerts.example.com/web' });
      return { path: `${APP_PATH}/web/webhook`, status: 204, expected: expected('webhook.remove', 'app', 'default/default/web') };
    },
    'PUT /v1/projects/{project}/registries/{host}': async () => ({
      path: '/v1/projects/shop/registries/ghcr.io',
      body: { username: 'ci', password: 'walked-secret' },
      status: 200,
      expected: expected('registry.set', 'registry', 'shop/ghcr.io', 'shop'),
    }),
    'DELETE /v1/projects/{project}/registries/{host}': async () => {
      await made('PUT', '/v1/projects/default/registries/127.0.0.1:5000', { username: 'ci', password: 'gone' });
      return { path: '/v1/projects/default/registries/127.0.0.1:5000', status: 204, expected: expected('registry.delete', 'registry', 'default/127.0.0.1:5000') };
    },
    'POST /v1/tokens': async () => ({ path: '/v1/tokens', body: { name: 'walker', role: 'viewer', project: 'shop' }, status: 201, expected: expected('token.create', 'token', 'walker', 'shop') }),
    'DELETE /v1/tokens/{name}': async () => ({ path: '/v1/tokens/walker', status: 204, expected: expected('token.revoke', 'token', 'walker', null) }),
  };

  /** Per read: its concrete path (reads of things that exist, so they answer 200 and do their work). */
  const READS: Record<string, () => string> = {
    'GET /healthz': () => '/healthz',
    'GET /livez': () => '/livez',
    'GET /v1/openapi.json': () => '/v1/openapi.json',
    'GET /v1/whoami': () => '/v1/whoami',
    'GET /v1/projects': () => '/v1/projects',
    'GET /v1/projects/{project}/registries': () => '/v1/projects/shop/registries',
    'GET /v1/projects/{project}/stages/{stage}/apps': () => '/v1/projects/shop/stages/default/apps',
    'GET /v1/projects/{project}/stages/{stage}/apps/{app}': () => `${SHOP}/cart`,
    'GET /v1/projects/{project}/stages/{stage}/apps/{app}/releases': () => `${SHOP}/cart/releases`,
    'GET /v1/projects/{project}/stages/{stage}/apps/{app}/env': () => `${SHOP}/cart/env`,
    'GET /v1/tasks': () => '/v1/tasks?limit=2',
    'GET /v1/tasks/{id}': () => `/v1/tasks/${ids.task}`,
    'GET /v1/tasks/{id}/logs': () => `/v1/tasks/${ids.stoppedTask}/logs`,
    'GET /v1/tasks/{id}/logs/follow': () => `/v1/tasks/${ids.stoppedTask}/logs/follow`,
    'GET /v1/tasks/{id}/logs/chunks': () => `/v1/tasks/${ids.stoppedTask}/logs/chunks`,
    'GET /v1/tasks/{id}/logs/chunks/follow': () => `/v1/tasks/${ids.stoppedTask}/logs/chunks/follow`,
    'GET /v1/tasks/{id}/consoles': () => `/v1/tasks/${ids.task}/consoles`,
    'GET /v1/consoles/{session}/recording': () => `/v1/consoles/${ids.session}/recording`,
    'GET /v1/schedules': () => '/v1/schedules',
    'GET /v1/schedules/{id}': () => `/v1/schedules/${ids.schedule}`,
    'GET /v1/agents': () => '/v1/agents',
    'GET /v1/join-tokens': () => '/v1/join-tokens',
    'GET /v1/schedules/{id}/deliveries': () => `/v1/schedules/${ids.schedule}/deliveries`,
    'GET /v1/schedules/{id}/webhook': () => `/v1/schedules/${ids.schedule}/webhook`,
    'GET /v1/projects/{project}/stages/{stage}/apps/{app}/webhook': () => `${SHOP}/cart/webhook`,
    'GET /v1/tokens': () => '/v1/tokens',
    'GET /v1/audit': () => '/v1/audit?action=task.*',
  };

  const keyOf = (op: Pick<Operation, 'method' | 'path'>) => `${op.method.toUpperCase()} ${op.path}`;
  const changes = OPERATIONS.filter((op) => op.method !== 'get').map(keyOf);
  const reads = OPERATIONS.filter((op) => op.method === 'get').map(keyOf);

  beforeAll(async () => {
    database = await createTestDatabase('postgres', { migrated: false });
    scheduler = await startTestScheduler(database);
    await made('POST', '/v1/projects', { name: 'shop' });
    await made('POST', APP_PATH, { name: 'web', image: 'web:1' });
    await made('POST', SHOP, { name: 'cart', image: 'cart:1' });
    ids.schedule = await newSchedule();
    // STOPPED at once, so its log follows end at once.
    ids.stoppedTask = await newTask('true');
    await made('POST', `/v1/tasks/${ids.stoppedTask}/stop`);
    agent = await ProtocolAgent.connect(scheduler.url, JOIN_TOKEN);
    await agent.hello('alpha');
    ids.task = ((await made('POST', `${APP_PATH}/web/tasks`, { command: 'bash', kind: 'interactive' })) as Task).id;
    const { task } = await agent.next('task.assign');
    agent.send({ type: 'task.status', taskId: task.taskId, status: 'RUNNING', at: new Date().toISOString() });
    await eventually(async () => (await send('GET', `/v1/tasks/${ids.task}`)).body.status === 'RUNNING', 'console task running');
  });
  afterAll(async () => {
    agent?.close();
    await scheduler?.close();
    await database?.drop();
  });

  it('has a case for every operation of the OpenAPI description, which lists every route the app serves', async () => {
    const { app } = await createTestApp(database, { bootstrap: false });
    const keysOf = (routes: { method: string; path: string }[]) =>
      routes.filter((route) => ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(route.method)).map((route) => `${route.method} ${route.path.replace(/:(\w+)/g, '{$1}')}`);
    // The dashboard's pages are not API operations: what their forms change goes through the API's
    // own functions and audit events (dashboard/*-routes.test.ts check those events).
    const dashboard = new Set(keysOf(dashboardRoutes({ db: database.db } as AppDeps, new AuthFailures({ perMinute: 30, log: () => {} }), () => {}).routes));
    const served = keysOf(app.routes).filter((key) => !dashboard.has(key));
    expect([...new Set(served)].sort()).toEqual(OPERATIONS.map(keyOf).sort());
    expect(changes.filter((key) => !(key in CHANGES)), 'a change without a case here: add one naming the audit event it must write').toEqual([]);
    expect(reads.filter((key) => !(key in READS)), 'a read without a case here: add one').toEqual([]);
  });

  it.each(changes)('%s writes exactly one audit event, with actor, initiator, address, target and project', async (key) => {
    const change = await CHANGES[key]!();
    const before = await lastId();
    const answer = await send(key.split(' ')[0]!, change.path, change.body);
    expect(answer.status, answer.text).toBe(change.status);
    const events = await eventsAfter(before);
    const targetId = change.expected.targetId === '(the answer)' ? (answer.body as { id: string }).id : change.expected.targetId;
    expect(events.map((e) => ({ action: e.action, targetType: e.target_type, targetId: e.target_id, project: e.project }))).toEqual([{ ...change.expected, targetId }]);
    expect(events[0]).toMatchObject({ actor: 'bootstrap', initiated_by: INITIATED_BY, source: expect.stringMatching(/^(::ffff:)?127\.0\.0\.1$/) });
  });

  describe('console sessions: attach, exec and their ends are one event each', () => {
    const consoleEvents = async (before: number) => (await eventsAfter(before)).map((e) => ({ action: e.action, actor: e.actor, initiatedBy: e.initiated_by, source: e.source, target: e.target_id, project: e.project }));
    const event = (action: string) => ({ action, actor: 'bootstrap', initiatedBy: INITIATED_BY, source: expect.stringMatching(/^(::ffff:)?127\.0\.0\.1$/), target: ids.task, project: 'default' });
    const header = { 'x-initiated-by': encodeURIComponent(INITIATED_BY) };

    it('attach, then detach', async () => {
      const before = await lastId();
      const client = openConsoleClient(scheduler.url, `/v1/tasks/${ids.task}/console`, ADMIN_TOKEN, header);
      await client.opened;
      const { open, stream, received } = await dialBack(scheduler.url, agent.credential, await agent.next('console.open'));
      ids.session = open.sessionId;
      expect(await consoleEvents(before)).toEqual([event('console.attach')]);
      stream.send(encodeConsoleData(ConsoleChannel.stdout, Buffer.from('$ ')));
      await eventually(() => client.text() === '$ ', 'prompt relayed');
      client.ws.send(JSON.stringify({ type: 'detach' }));
      // As the agent does: a detach ends its stream of the session (the console goes on).
      await eventually(() => received.includes(JSON.stringify({ type: 'detach' })), 'detach relayed');
      stream.close();
      await client.closed;
      await eventually(async () => (await eventsAfter(before)).length > 1, 'the end recorded');
      expect(await consoleEvents(before)).toEqual([event('console.attach'), event('console.detach')]);
    });

    it('exec, then its end', async () => {
      const before = await lastId();
      const client = openConsoleClient(scheduler.url, `/v1/tasks/${ids.task}/exec?tty=0&command=${encodeURIComponent('["ls"]')}`, ADMIN_TOKEN, header);
      await client.opened;
      const { stream } = await dialBack(scheduler.url, agent.credential, await agent.next('console.open'));
      expect(await consoleEvents(before)).toEqual([event('console.exec')]);
      stream.send(JSON.stringify({ type: 'exited', exitCode: 0 }));
      stream.close();
      await client.closed;
      await eventually(async () => (await eventsAfter(before)).length > 1, 'the end recorded');
      expect(await consoleEvents(before)).toEqual([event('console.exec'), event('console.exec.end')]);
    });

    it('a session ended before its agent dialled back (its token revoked meanwhile): the attach and its end', async () => {
      const token = ((await made('POST', '/v1/tokens', { name: 'short-lived', role: 'member' })) as { token: string }).token;
      const before = await lastId();
      const client = openConsoleClient(scheduler.url, `/v1/tasks/${ids.task}/console`, token, header);
      await client.opened;
      const open = await agent.next('console.open');
      await made('DELETE', '/v1/tokens/short-lived');
      const { stream } = await dialBack(scheduler.url, agent.credential, open);
      await new Promise<void>((resolve) => stream.on('close', () => resolve()));
      await client.closed;
      await eventually(async () => (await database.db.selectFrom('console_sessions').select('closed_at').where('id', '=', open.sessionId).executeTakeFirst())?.closed_at != null, 'session closed');
      const ofTheTask = (await consoleEvents(before)).filter((e) => e.target === ids.task);
      expect(ofTheTask).toEqual([{ ...event('console.attach'), actor: 'short-lived' }, { ...event('console.detach'), actor: 'short-lived' }]);
    });
  });

  it.each(reads)('%s writes no audit event', async (key) => {
    const before = await lastId();
    const answer = await send('GET', READS[key]!());
    expect(answer.status, answer.text).toBe(200);
    expect(await eventsAfter(before)).toEqual([]);
  });
});
