import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, APP_PATH } from '../testing/test-app.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../testing/test-database.js';

describe.each(DATABASE_KINDS)('tasks API on %s', (kind) => {
  let database: TestDatabase;
  let call: Awaited<ReturnType<typeof createTestApp>>['call'];
  const tasks = `${APP_PATH}/worker/tasks`;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    ({ call } = await createTestApp(database));
    await call('POST', APP_PATH, { name: 'worker', image: 'registry.local/worker:1.0', cpu: 0.5, memoryGb: 1, maxHours: 2 });
    await call('POST', `${APP_PATH}/worker/releases`, { image: 'registry.local/worker:2.0' });
  });
  afterAll(() => database.drop());

  it('creates a PROVISIONING task from the app defaults and the active release', async () => {
    const created = await call('POST', tasks, { command: 'rails db:migrate', initiatedBy: 'deploy-bot' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      status: 'PROVISIONING',
      desiredStatus: 'RUNNING',
      release: 2,
      image: 'registry.local/worker:2.0',
      command: ['/bin/sh', '-c', 'rails db:migrate'],
      resources: { cpu: 0.5, memoryGb: 1, maxHours: 2, ephemeralStorageGb: null },
      initiatedBy: 'deploy-bot',
      createdBy: 'bootstrap',
      kind: 'background',
    });
    expect(created.body.id).toMatch(/^[0-9a-f]{32}$/);
    const logs = await call('GET', `/v1/tasks/${created.body.id}/logs`);
    expect(logs.body.lines.map((l: { text: string }) => l.text)).toEqual(['Task status is PROVISIONING, desired status is RUNNING']);
  });

  it('applies overrides: resources, release, docker_tag, image, entrypoint, args', async () => {
    const r = await call('POST', tasks, { args: ['echo', 'a b'], entrypoint: ['/bin/env'], release: 1, dockerTag: 'v9', cpu: 2, memoryGb: 4, maxHours: 0.5, ephemeralStorageGb: 3 });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ release: 1, image: 'registry.local/worker:v9', command: ['echo', 'a b'], entrypoint: ['/bin/env'], resources: { cpu: 2, memoryGb: 4, maxHours: 0.5, ephemeralStorageGb: 3 } });
    const custom = await call('POST', tasks, { command: 'true', image: 'ubuntu:24.04' });
    expect(custom.body).toMatchObject({ release: null, image: 'ubuntu:24.04' });
  });

  it('gives interactive tasks 24 hours unless the app says otherwise', async () => {
    await call('POST', APP_PATH, { name: 'console', image: 'c:1' });
    const r = await call('POST', `${APP_PATH}/console/tasks`, { command: 'bash', kind: 'interactive' });
    expect(r.body.resources.maxHours).toBe(24);
    const background = await call('POST', `${APP_PATH}/console/tasks`, { command: 'true' });
    expect(background.body.resources.maxHours).toBeNull();
  });

  it('refuses bad input with 400 naming the field, and stores nothing', async () => {
    const before = (await call('GET', '/v1/tasks?limit=500')).body.items.length;
    const cases: [unknown, string][] = [
      [{ command: 'x', memoryGb: 'lots' }, 'memoryGb'],
      [{ command: 'x', cpu: -1 }, 'cpu'],
      [{ command: 'x', maxHours: 0 }, 'maxHours'],
      [{ command: 'x', shoeSize: 9 }, 'shoeSize'],
      [{}, 'command'],
      [{ command: 'x', args: ['y'] }, 'command'],
      [{ command: 'x', dockerTag: 'bad tag' }, 'dockerTag'],
      [{ command: 'a\u0000b' }, 'command'],
      [{ command: 'x', image: 'i:1', release: 1 }, 'image'],
      [{ command: 'x', release: 3000000000 }, 'release'],
      [{ args: ['\ud800'] }, 'args.0'],
      [{ command: 'x', initiatedBy: 'a\u0000b' }, 'initiatedBy'],
      [{ command: 'x', initiatedBy: 'deploy\u001b[2J' }, 'initiatedBy'],
      [{ command: 'x', initiatedBy: 'fake\r[system] line' }, 'initiatedBy'],
      // Image references the engine would redirect elsewhere (issue 8).
      [{ command: 'x', image: 'a/../b' }, 'image'],
      [{ command: 'x', image: 'a/../../127.0.0.1:9/path' }, 'image'],
      [{ command: 'x', dockerTag: '../x' }, 'dockerTag'],
    ];
    for (const [body, field] of cases) {
      const r = await call('POST', tasks, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.code).toBe('VALIDATION_FAILED');
      if (field) expect(r.body.error.field).toBe(field);
    }
    expect((await call('POST', tasks, 'not json')).status).toBe(400);
    expect((await call('GET', '/v1/tasks?limit=500')).body.items.length).toBe(before);
  });

  it('refuses a task whose release image Docker would not accept (stored before references were checked)', async () => {
    await call('POST', APP_PATH, { name: 'legacy', image: 'legacy:1' });
    await database.db.updateTable('releases').set({ image: 'legacy/../x' }).where('number', '=', 1).execute();
    const r = await call('POST', `${APP_PATH}/legacy/tasks`, { command: 'true' });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'release' });
    expect(r.body.error.message).toMatch(/^the image of release 1, "legacy\/\.\.\/x", is not a valid image reference \("\.\." is not a valid part/);
  });

  it('answers 404 for an unknown app or release', async () => {
    const app = await call('POST', `${APP_PATH}/ghost/tasks`, { command: 'true' });
    expect(app.status).toBe(404);
    expect(app.body.error.message).toContain('ghost');
    const release = await call('POST', tasks, { command: 'true', release: 99 });
    expect(release.status).toBe(404);
    expect(release.body.error.field).toBe('release');
  });

  it('lists newest first with keyset pages, filtered by app and status', async () => {
    await call('POST', APP_PATH, { name: 'pager', image: 'p:1' });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await call('POST', `${APP_PATH}/pager/tasks`, { command: `echo ${i}` })).body.id);
    const page1 = await call('GET', '/v1/tasks?app=pager&limit=2');
    const page2 = await call('GET', `/v1/tasks?app=pager&limit=2&cursor=${page1.body.nextCursor}`);
    const page3 = await call('GET', `/v1/tasks?app=pager&limit=2&cursor=${page2.body.nextCursor}`);
    const seen = [...page1.body.items, ...page2.body.items, ...page3.body.items].map((t: { id: string }) => t.id);
    expect(seen).toEqual([...ids].reverse());
    expect(page3.body.nextCursor).toBeNull();
    await call('POST', `/v1/tasks/${ids[0]}/stop`);
    const stopped = await call('GET', '/v1/tasks?app=pager&status=STOPPED');
    expect(stopped.body.items.map((t: { id: string }) => t.id)).toEqual([ids[0]]);
    expect((await call('GET', '/v1/tasks?status=DONE')).status).toBe(400);
    expect((await call('GET', '/v1/tasks?cursor=garbage')).status).toBe(400);
    expect((await call('GET', `/v1/tasks/${ids[0]}/logs?after=3000000000`)).status).toBe(400);
  });

  it('pages exactly through tasks created in the same millisecond', async () => {
    await call('POST', APP_PATH, { name: 'burst', image: 'b:1' });
    const app = await database.db.selectFrom('apps').select('id').where('name', '=', 'burst').executeTakeFirstOrThrow();
    // Same millisecond, different microseconds: a cursor rounded to milliseconds skips some.
    const base = (await call('POST', `${APP_PATH}/burst/tasks`, { command: 'true' })).body.id as string;
    const row = await database.db.selectFrom('tasks').selectAll().where('id', '=', base).executeTakeFirstOrThrow();
    for (let i = 1; i <= 6; i++) {
      await database.db
        .insertInto('tasks')
        .values({ ...row, id: `${'e'.repeat(31)}${i}`, app_id: app.id, command: JSON.stringify(row.command), entrypoint: JSON.stringify(row.entrypoint), env: JSON.stringify(row.env), created_at: sql`${row.created_at}::timestamptz + ${i} * interval '1 microsecond'` as never })
        .execute();
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: { id: string }[]; nextCursor: string | null } } = await call('GET', `/v1/tasks?app=burst&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.body.items.map((t) => t.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(7);
    expect(new Set(seen).size).toBe(7);
  });

  it('finds a task by unique prefix and refuses an ambiguous one', async () => {
    const id = (await call('POST', tasks, { command: 'true' })).body.id as string;
    expect((await call('GET', `/v1/tasks/${id.slice(0, 10)}`)).body.id).toBe(id);
    // Two tasks sharing a prefix: copy the row under a crafted id.
    const twin = `${id.slice(0, 8)}${'0'.repeat(24)}` === id ? `${id.slice(0, 8)}${'1'.repeat(24)}` : `${id.slice(0, 8)}${'0'.repeat(24)}`;
    const row = await database.db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    await database.db
      .insertInto('tasks')
      .values({ ...row, id: twin, command: JSON.stringify(row.command), entrypoint: JSON.stringify(row.entrypoint), env: JSON.stringify(row.env) })
      .execute();
    const ambiguous = await call('GET', `/v1/tasks/${id.slice(0, 8)}`);
    expect(ambiguous.status).toBe(409);
    expect(ambiguous.body.error.code).toBe('AMBIGUOUS_ID');
    expect((await call('GET', '/v1/tasks/ffff0000ffff0000ffff0000ffff0000')).status).toBe(404);
    expect((await call('GET', '/v1/tasks/xyz')).status).toBe(400);
  });

  it('stops a waiting task at once as USER_STOPPED, by whom, and records it', async () => {
    const id = (await call('POST', tasks, { command: 'sleep 100' })).body.id;
    const stopped = await call('POST', `/v1/tasks/${id}/stop`);
    expect(stopped.status).toBe(202);
    expect(stopped.body).toMatchObject({ status: 'STOPPED', desiredStatus: 'STOPPED', stopCode: 'USER_STOPPED', stoppedBy: 'bootstrap' });
    expect(stopped.body.finishedAt).not.toBeNull();
    const events = await database.db.selectFrom('task_events').select(['status', 'desired_status']).where('task_id', '=', id).orderBy('id').execute();
    expect(events).toEqual([
      { status: 'PROVISIONING', desired_status: 'RUNNING' },
      { status: 'STOPPED', desired_status: 'STOPPED' },
    ]);
    const logs = await call('GET', `/v1/tasks/${id}/logs`);
    expect(logs.body.lines.map((l: { text: string }) => l.text)).toContain('Task status is STOPPED, desired status is STOPPED');
    expect(logs.body.complete).toBe(true);
    const audit = await database.db.selectFrom('audit_events').select(['action', 'actor']).where('target_id', '=', id).orderBy('id').execute();
    expect(audit).toEqual([
      { action: 'task.create', actor: 'bootstrap' },
      { action: 'task.stop', actor: 'bootstrap' },
    ]);
  });

  it('marks a placed task desired STOPPED without ending it', async () => {
    const id = (await call('POST', tasks, { command: 'sleep 100' })).body.id;
    await database.db.updateTable('tasks').set({ status: 'RUNNING', agent_name: 'a1' }).where('id', '=', id).execute();
    const r = await call('POST', `/v1/tasks/${id}/stop`);
    expect(r.body).toMatchObject({ status: 'RUNNING', desiredStatus: 'STOPPED', stopCode: null, stoppedBy: 'bootstrap' });
  });

  it('deletes only finished tasks, with their logs', async () => {
    const id = (await call('POST', tasks, { command: 'true' })).body.id;
    const early = await call('DELETE', `/v1/tasks/${id}`);
    expect(early.status).toBe(409);
    expect(early.body.error.message).toContain('PROVISIONING');
    await call('POST', `/v1/tasks/${id}/stop`);
    const stored = () => database.db.selectFrom('task_log_chunks').select('last_position').where('task_id', '=', id).execute();
    expect((await stored()).length).toBeGreaterThan(0); // its [system] lines
    expect((await call('DELETE', `/v1/tasks/${id}`)).status).toBe(204);
    expect((await call('GET', `/v1/tasks/${id}`)).status).toBe(404);
    const chunks = await stored();
    const lines = await database.db.selectFrom('task_log_lines').select('position').where('task_id', '=', id).execute();
    expect([chunks, lines]).toEqual([[], []]);
  });
});
