import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, APP_PATH, createTestApp } from '../testing/test-app.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../testing/test-database.js';

describe.each(DATABASE_KINDS)('schedules API on %s', (kind) => {
  let database: TestDatabase;
  let call: Awaited<ReturnType<typeof createTestApp>>['call'];
  const schedules = `${APP_PATH}/cron/schedules`;
  const auditOf = (id: string) =>
    database.db.selectFrom('audit_events').select(['action', 'actor']).where('target_id', '=', id).orderBy('id').execute();

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    ({ call } = await createTestApp(database));
    await call('POST', APP_PATH, { name: 'cron', image: 'registry.local/cron:1.0', cpu: 0.5 });
  });
  afterAll(() => database.drop());

  it('creates a schedule with its policies, its task template and its first slot', async () => {
    const created = await call('POST', schedules, {
      cron: '30 2 * * *',
      timezone: 'Europe/Berlin',
      concurrency: 'forbid',
      missed: 'latest',
      startingDeadlineSeconds: 600,
      retries: 2,
      command: 'bin/cleanup',
      memoryGb: 1,
      initiatedBy: 'ops',
      webhookUrl: 'https://alerts.example.com/tapit',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      project: 'default',
      stage: 'default',
      app: 'cron',
      cron: '30 2 * * *',
      timezone: 'Europe/Berlin',
      concurrency: 'forbid',
      missed: 'latest',
      startingDeadlineSeconds: 600,
      retries: 2,
      suspended: false,
      failing: false,
      lastRun: null,
      createdBy: 'bootstrap',
      // The webhook's secret is in this answer only.
      webhookUrl: 'https://alerts.example.com/tapit',
      webhookSecret: expect.stringMatching(/^whsec_[0-9a-f]{64}$/),
      task: { command: ['/bin/sh', '-c', 'bin/cleanup'], memoryGb: 1, cpu: null, release: null, image: null, initiatedBy: 'ops', constraints: {} },
    });
    expect(created.body.id).toMatch(/^[0-9a-f]{32}$/);
    expect(Date.parse(created.body.nextRunAt)).toBeGreaterThan(Date.parse(created.body.createdAt));
    expect(await auditOf(created.body.id)).toEqual([{ action: 'schedule.create', actor: 'bootstrap' }]);

    const shown = await call('GET', `/v1/schedules/${created.body.id.slice(0, 8)}`);
    expect(shown.status).toBe(200);
    expect(shown.body.id).toBe(created.body.id);
    expect(shown.body.runs).toEqual([]);
    expect(shown.body.upcoming).toHaveLength(5);
    expect(shown.body.upcoming[0].utc).toBe(created.body.nextRunAt);
    // 02:30 in Berlin, with the zone's offset of that day.
    for (const run of shown.body.upcoming) expect(run.local).toMatch(/T02:30:00\+0[12]:00$/);
    expect(shown.body).not.toHaveProperty('webhookSecret');
    expect(shown.body.webhookUrl).toBe('https://alerts.example.com/tapit');
    expect(shown.text).not.toContain(created.body.webhookSecret);
    expect((await call('GET', '/v1/schedules')).text).not.toContain(created.body.webhookSecret);
    const audit = await database.db.selectFrom('audit_events').select('details').where('target_id', '=', created.body.id).executeTakeFirstOrThrow();
    expect(audit.details).toMatchObject({ webhook: 'https://alerts.example.com' });
    expect(JSON.stringify(audit)).not.toContain(created.body.webhookSecret);
  });

  it('refuses a bad expression, zone or field with 400 naming it, and stores nothing', async () => {
    const cases: [unknown, string][] = [
      [{ cron: 'every day', command: 'x' }, 'cron'],
      [{ cron: '61 * * * *', command: 'x' }, 'cron'],
      [{ cron: '', command: 'x' }, 'cron'],
      [{ cron: '@daily', timezone: 'Mars/Olympus_Mons', command: 'x' }, 'timezone'],
      [{ cron: '@daily' }, 'command'],
      [{ cron: '@daily', command: 'x', retries: 11 }, 'retries'],
      [{ cron: '@daily', command: 'x', concurrency: 'sometimes' }, 'concurrency'],
      [{ cron: '@daily', command: 'x', missed: 'all' }, 'missed'],
      [{ cron: '@daily', command: 'x', kind: 'interactive' }, 'kind'],
      [{ cron: '@daily', command: 'x', release: 99 }, 'release'],
    ];
    const before = (await call('GET', '/v1/schedules?limit=500')).body.items.length;
    for (const [body, field] of cases) {
      const r = await call('POST', schedules, body);
      expect(r.status, JSON.stringify(body)).toBe(field === 'release' ? 404 : 400);
      expect(r.body.error.field, JSON.stringify(body)).toBe(field);
    }
    const zone = await call('POST', schedules, { cron: '@daily', timezone: 'Mars/Olympus_Mons', command: 'x' });
    expect(zone.body.error.message).toContain('Mars/Olympus_Mons');
    expect((await call('GET', '/v1/schedules?limit=500')).body.items.length).toBe(before);
    expect((await call('POST', `${APP_PATH}/ghost/schedules`, { cron: '@daily', command: 'x' })).status).toBe(404);
  });

  it('lists newest first in keyset pages, filtered by app', async () => {
    await call('POST', APP_PATH, { name: 'pager', image: 'p:1' });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await call('POST', `${APP_PATH}/pager/schedules`, { cron: `${i} * * * *`, command: 'true' })).body.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { items: { id: string; app: string }[]; nextCursor: string | null } } = await call('GET', `/v1/schedules?app=pager&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((s) => s.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    expect((await call('GET', '/v1/schedules?cursor=garbage')).status).toBe(400);
    expect((await call('GET', '/v1/schedules?limit=0')).body.error.field).toBe('limit');
  });

  it('finds a schedule by unique prefix, refuses an ambiguous or malformed one', async () => {
    const id = (await call('POST', schedules, { cron: '@hourly', command: 'true' })).body.id as string;
    const row = await database.db.selectFrom('schedules').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    const twin = `${id.slice(0, 8)}${id[8] === '0' ? '1' : '0'}${'0'.repeat(23)}`;
    await database.db.insertInto('schedules').values({ ...row, id: twin, task: JSON.stringify(row.task) }).execute();
    const ambiguous = await call('GET', `/v1/schedules/${id.slice(0, 8)}`);
    expect(ambiguous.status).toBe(409);
    expect(ambiguous.body.error).toMatchObject({ code: 'AMBIGUOUS_ID', field: 'schedule' });
    expect((await call('GET', `/v1/schedules/${id.slice(0, 9)}`)).body.id).toBe(id);
    expect((await call('GET', '/v1/schedules/ffff0000ffff0000ffff0000ffff0000')).status).toBe(404);
    const malformed = await call('GET', '/v1/schedules/xyz');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.field).toBe('schedule');
  });

  it('suspends (no next run) and resumes at the next slot after now, auditing each change', async () => {
    const id = (await call('POST', schedules, { cron: '*/1 * * * * *', command: 'true' })).body.id as string;
    const suspended = await call('POST', `/v1/schedules/${id}/suspend`);
    expect(suspended.status).toBe(200);
    expect(suspended.body).toMatchObject({ id, suspended: true, nextRunAt: null });
    expect((await call('GET', `/v1/schedules/${id}`)).body.upcoming).toEqual([]);
    // Suspending again changes nothing and records nothing.
    expect((await call('POST', `/v1/schedules/${id}/suspend`)).body.suspended).toBe(true);
    const before = (await sql<{ now: Date }>`SELECT now()`.execute(database.db)).rows[0]!.now;
    const resumed = await call('POST', `/v1/schedules/${id}/resume`);
    expect(resumed.body).toMatchObject({ id, suspended: false });
    expect(Date.parse(resumed.body.nextRunAt)).toBeGreaterThan(before.getTime());
    expect((await auditOf(id)).map((a) => a.action)).toEqual(['schedule.create', 'schedule.suspend', 'schedule.resume']);
  });

  it('triggers a run now: a manual slot whose task carries the schedule, once per Idempotency-Key', async () => {
    const id = (await call('POST', schedules, { cron: '@yearly', command: 'echo hi', concurrency: 'forbid' })).body.id as string;
    const headers = { 'Idempotency-Key': 'trigger-key-0000000001' };
    const triggered = await call('POST', `/v1/schedules/${id}/trigger`, undefined, ADMIN_TOKEN, headers);
    expect(triggered.status).toBe(201);
    expect(triggered.body).toMatchObject({ scheduleId: id });
    const again = await call('POST', `/v1/schedules/${id}/trigger`, undefined, ADMIN_TOKEN, headers);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(triggered.body);
    const task = await call('GET', `/v1/tasks/${triggered.body.taskId}`);
    expect(task.body).toMatchObject({ scheduleId: id, scheduledFor: triggered.body.scheduledFor, command: ['/bin/sh', '-c', 'echo hi'], image: 'registry.local/cron:1.0', resources: { cpu: 0.5 } });
    // A second trigger runs whatever the concurrency policy (the first task is still waiting).
    const second = await call('POST', `/v1/schedules/${id}/trigger`);
    expect(second.status).toBe(201);
    expect(second.body.taskId).not.toBe(triggered.body.taskId);
    const detail = await call('GET', `/v1/schedules/${id}`);
    expect(detail.body.runs.map((r: { scheduledFor: string }) => r.scheduledFor)).toEqual([second.body.scheduledFor, triggered.body.scheduledFor]);
    expect(detail.body.runs[1]).toMatchObject({
      trigger: 'manual',
      outcome: 'running',
      reason: null,
      attempts: [{ attempt: 1, taskId: triggered.body.taskId, status: 'PROVISIONING', stopCode: null, exitCode: null }],
    });
    expect(detail.body.lastRun.scheduledFor).toBe(second.body.scheduledFor);
    const actions = (await auditOf(id)).map((a) => `${a.action}:${a.actor}`);
    // One event per trigger, the caller's (every-change-audited.test.ts): not also a schedule.fire by the scheduler.
    expect(actions).toEqual(['schedule.create:bootstrap', 'schedule.trigger:bootstrap', 'schedule.trigger:bootstrap']);
  });

  it('refuses a trigger whose task cannot be created, and records nothing', async () => {
    await call('POST', APP_PATH, { name: 'legacy', image: 'legacy:1' });
    const id = (await call('POST', `${APP_PATH}/legacy/schedules`, { cron: '@daily', command: 'true' })).body.id as string;
    await database.db.updateTable('releases').set({ image: 'legacy/../x' }).where('image', '=', 'legacy:1').execute();
    const refused = await call('POST', `/v1/schedules/${id}/trigger`);
    expect(refused.status).toBe(400);
    expect(refused.body.error.field).toBe('release');
    expect((await call('GET', `/v1/schedules/${id}`)).body.runs).toEqual([]);
  });

  it('deletes a schedule with its history; its tasks stay, still naming it', async () => {
    const id = (await call('POST', schedules, { cron: '@daily', command: 'sleep 100' })).body.id as string;
    const { taskId } = (await call('POST', `/v1/schedules/${id}/trigger`)).body;
    expect((await call('DELETE', `/v1/schedules/${id}`)).status).toBe(204);
    expect((await call('GET', `/v1/schedules/${id}`)).status).toBe(404);
    expect((await call('DELETE', `/v1/schedules/${id}`)).status).toBe(404);
    const task = await call('GET', `/v1/tasks/${taskId}`);
    expect(task.body).toMatchObject({ scheduleId: id, status: 'PROVISIONING', desiredStatus: 'RUNNING' });
    expect(await database.db.selectFrom('schedule_runs').select('scheduled_for').where('schedule_id', '=', id).execute()).toEqual([]);
    expect((await auditOf(id)).map((a) => a.action)).toContain('schedule.delete');
  });

  it('keeps a project token inside its project, and viewers to reading', async () => {
    await call('POST', '/v1/projects', { name: 'other' });
    await call('POST', '/v1/projects/other/stages/default/apps', { name: 'secret', image: 's:1' });
    const foreign = (await call('POST', '/v1/projects/other/stages/default/apps/secret/schedules', { cron: '@daily', command: 'true' })).body.id as string;
    const own = (await call('POST', schedules, { cron: '@daily', command: 'true' })).body.id as string;
    const scoped = (await call('POST', '/v1/tokens', { name: 'team-default', role: 'member', project: 'default' })).body.token;
    const viewer = (await call('POST', '/v1/tokens', { name: 'watcher', role: 'viewer' })).body.token;

    const listed = (await call('GET', '/v1/schedules?limit=500', undefined, scoped)).body.items as { id: string; project: string }[];
    expect(listed.map((s) => s.id)).toContain(own);
    expect(listed.every((s) => s.project === 'default')).toBe(true);
    expect((await call('GET', '/v1/schedules?project=other', undefined, scoped)).status).toBe(404);
    for (const [method, path] of [
      ['GET', `/v1/schedules/${foreign}`],
      ['POST', `/v1/schedules/${foreign}/suspend`],
      ['POST', `/v1/schedules/${foreign}/resume`],
      ['POST', `/v1/schedules/${foreign}/trigger`],
      ['DELETE', `/v1/schedules/${foreign}`],
      ['POST', '/v1/projects/other/stages/default/apps/secret/schedules'],
    ] as const) {
      const r = await call(method, path, path.endsWith('schedules') ? { cron: '@daily', command: 'true' } : undefined, scoped);
      expect(r.status, `${method} ${path}`).toBe(404);
    }
    expect((await call('GET', `/v1/schedules/${foreign}`)).body.suspended).toBe(false);
    expect((await call('POST', `/v1/schedules/${own}/suspend`, undefined, scoped)).status).toBe(200);

    expect((await call('GET', `/v1/schedules/${foreign}`, undefined, viewer)).status).toBe(200);
    for (const [method, path] of [
      ['POST', `/v1/schedules/${own}/resume`],
      ['POST', `/v1/schedules/${own}/trigger`],
      ['DELETE', `/v1/schedules/${own}`],
      ['POST', schedules],
    ] as const) {
      const r = await call(method, path, path === schedules ? { cron: '@daily', command: 'true' } : undefined, viewer);
      expect(r.status, `${method} ${path}`).toBe(403);
    }
  });
});
