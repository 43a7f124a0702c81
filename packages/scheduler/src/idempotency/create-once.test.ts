import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, APP_PATH } from '../testing/test-app.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../testing/test-database.js';
import { deleteExpiredIdempotencyKeys } from './repository.js';

const key = () => randomUUID();
const withKey = (k: string) => ({ 'idempotency-key': k });

describe.each(DATABASE_KINDS)('Idempotency-Key on creates, on %s', (kind) => {
  let database: TestDatabase;
  let call: Awaited<ReturnType<typeof createTestApp>>['call'];
  const tasks = `${APP_PATH}/worker/tasks`;
  let memberToken: string;

  const taskCount = async (command: string) =>
    (await call('GET', '/v1/tasks?limit=500')).body.items.filter((t: { command: string[] }) => t.command[2] === command).length;
  const auditCount = async (action: string, targetId?: string) => {
    let query = database.db.selectFrom('audit_events').select((eb) => eb.fn.countAll<string>().as('n')).where('action', '=', action);
    if (targetId) query = query.where('target_id', '=', targetId);
    return Number((await query.executeTakeFirstOrThrow()).n);
  };

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    ({ call } = await createTestApp(database));
    await call('POST', APP_PATH, { name: 'worker', image: 'registry.local/worker:1.0' });
    memberToken = (await call('POST', '/v1/tokens', { name: 'member', role: 'member' })).body.token;
  });
  afterAll(() => database.drop());

  it('answers a retried task create with the first task (200) and makes no second one', async () => {
    const k = key();
    const first = await call('POST', tasks, { command: 'retry-me' }, undefined, withKey(k));
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const again = await call('POST', tasks, { command: 'retry-me' }, undefined, withKey(k));
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await taskCount('retry-me')).toBe(1);
    expect(await auditCount('task.create', first.body.id)).toBe(1);
  });

  it('treats the same body in another key order or spacing as the same request', async () => {
    const k = key();
    const first = await call('POST', tasks, '{"command":"same-body","cpu":0.5}', undefined, withKey(k));
    const again = await call('POST', tasks, '{ "cpu": 0.5,  "command": "same-body" }', undefined, withKey(k));
    expect([first.status, again.status]).toEqual([201, 200]);
    expect(again.body.id).toBe(first.body.id);
  });

  it('makes one resource when two requests with one key arrive together', async () => {
    const k = key();
    const answers = await Promise.all([1, 2, 3].map(() => call('POST', tasks, { command: 'together' }, undefined, withKey(k))));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 201]);
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    expect(await taskCount('together')).toBe(1);
  });

  it('covers every create: projects, stages, apps, releases, tokens, join tokens, schedules and their triggers', async () => {
    const creates: [string, unknown][] = [
      ['/v1/projects', { name: 'idem' }],
      ['/v1/projects/idem/stages', { name: 'prod' }],
      ['/v1/projects/idem/stages/prod/apps', { name: 'api', image: 'api:1' }],
      ['/v1/projects/idem/stages/prod/apps/api/releases', { image: 'api:2' }],
      ['/v1/tokens', { name: 'idem-ci', role: 'viewer', project: 'idem' }],
      ['/v1/join-tokens', { name: 'idem-rack' }],
      ['/v1/projects/idem/stages/prod/apps/api/schedules', { cron: '@daily', command: 'true' }],
    ];
    for (const [path, body] of creates) {
      const k = key();
      const first = await call('POST', path, body, undefined, withKey(k));
      expect(first.status, path).toBe(201);
      const again = await call('POST', path, body, undefined, withKey(k));
      expect(again.status, path).toBe(200);
      expect(again.body, path).toEqual(first.body);
    }
    expect((await call('GET', '/v1/projects/idem/stages/prod/apps/api/releases')).body.items.map((r: { number: number }) => r.number)).toEqual([2, 1]);
    const token = (await call('GET', '/v1/tokens')).body.items.filter((t: { name: string }) => t.name === 'idem-ci');
    expect(token).toHaveLength(1);
    expect((await call('GET', '/v1/join-tokens')).body.items.filter((t: { name: string }) => t.name === 'idem-rack')).toHaveLength(1);
    expect((await call('GET', '/v1/schedules?app=api')).body.items).toHaveLength(1);
    // A schedule's trigger creates a run: repeated with its key, it runs once.
    const schedule = (await call('GET', '/v1/schedules?app=api')).body.items[0].id as string;
    const k = key();
    const triggered = await call('POST', `/v1/schedules/${schedule}/trigger`, undefined, undefined, withKey(k));
    expect(triggered.status).toBe(201);
    const retriggered = await call('POST', `/v1/schedules/${schedule}/trigger`, undefined, undefined, withKey(k));
    expect(retriggered.status).toBe(200);
    expect(retriggered.body).toEqual(triggered.body);
    expect((await call('GET', `/v1/schedules/${schedule}`)).body.runs).toHaveLength(1);

    // Every create the API describes takes the header, and is one of those tried above (or tasks):
    // a new create route must answer through createOnce and be added here.
    const openapi = (await call('GET', '/v1/openapi.json')).body as { paths: Record<string, Record<string, { parameters?: { name: string }[]; responses: Record<string, unknown> }>> };
    const described = Object.entries(openapi.paths).filter(([, ops]) => ops.post?.responses['201']);
    for (const [path, ops] of described) expect(ops.post!.parameters?.map((p) => p.name), path).toContain('Idempotency-Key');
    const tried = [...creates.map(([path]) => path), tasks, '/v1/schedules/{id}/trigger'].map((path) => path.replace(/\/v1\/projects\/[^/]+/, '/v1/projects/{project}').replace(/stages\/[^/]+/, 'stages/{stage}').replace(/apps\/[^/]+/, 'apps/{app}'));
    expect(described.map(([path]) => path).sort()).toEqual([...new Set(tried)].sort());
  });

  it('gives a replayed token its secret again without keeping the secret readable in the database', async () => {
    const k = key();
    const first = await call('POST', '/v1/tokens', { name: 'sealed', role: 'viewer' }, undefined, withKey(k));
    const again = await call('POST', '/v1/tokens', { name: 'sealed', role: 'viewer' }, undefined, withKey(k));
    expect(again.body.token).toBe(first.body.token);
    expect((await call('GET', '/v1/whoami', undefined, again.body.token)).body.name).toBe('sealed');
    const rows = await sql<Record<string, unknown>>`SELECT * FROM idempotency_keys`.execute(database.db);
    const stored = JSON.stringify(rows.rows);
    expect(stored).not.toContain(first.body.token);
    expect(stored).not.toContain(k);
  });

  it('refuses the same key with another body or path: 422 IDEMPOTENCY_KEY_REUSED naming the header', async () => {
    const k = key();
    expect((await call('POST', tasks, { command: 'first-body' }, undefined, withKey(k))).status).toBe(201);
    for (const [path, body] of [
      [tasks, { command: 'other-body' }],
      [tasks, { command: 'first-body', cpu: 1 }],
      ['/v1/projects', { name: 'other-path' }],
    ] as const) {
      const reused = await call('POST', path, body, undefined, withKey(k));
      expect(reused.status, JSON.stringify(body)).toBe(422);
      expect(reused.body.error).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', field: 'Idempotency-Key' });
      expect(reused.body.error.message).toContain('Idempotency-Key');
    }
    expect(await taskCount('other-body')).toBe(0);
    expect((await call('GET', '/v1/projects')).body.items.map((p: { name: string }) => p.name)).not.toContain('other-path');
  });

  it("keeps each token's keys apart: another token's key never returns this one's resource", async () => {
    const k = key();
    const mine = await call('POST', tasks, { command: 'per-token' }, undefined, withKey(k));
    const theirs = await call('POST', tasks, { command: 'per-token' }, memberToken, withKey(k));
    expect([mine.status, theirs.status]).toEqual([201, 201]);
    expect(theirs.body.id).not.toBe(mine.body.id);
    expect(theirs.body.createdBy).toBe('member');
    const theirsAgain = await call('POST', tasks, { command: 'per-token' }, memberToken, withKey(k));
    expect(theirsAgain.body.id).toBe(theirs.body.id);
  });

  it('refuses a malformed key with 400 naming the header, and creates nothing', async () => {
    for (const bad of ['short', 'has a space in it', 'x'.repeat(256), 'ünïcödé-key-123', 'semi;colon-key']) {
      const r = await call('POST', tasks, { command: 'bad-key' }, undefined, withKey(bad));
      expect(r.status, bad).toBe(400);
      expect(r.body.error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'Idempotency-Key' });
      expect(r.body.error.message).toContain('Idempotency-Key');
    }
    expect(await taskCount('bad-key')).toBe(0);
  });

  it('creates anew each time without a key', async () => {
    const a = await call('POST', tasks, { command: 'no-key' });
    const b = await call('POST', tasks, { command: 'no-key' });
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(await taskCount('no-key')).toBe(2);
  });

  it('stores no key for a create that failed: the key is still free', async () => {
    await call('POST', '/v1/projects', { name: 'taken' });
    const k = key();
    expect((await call('POST', '/v1/projects', { name: 'taken' }, undefined, withKey(k))).status).toBe(409);
    expect((await call('POST', '/v1/projects', { name: 'free' }, undefined, withKey(k))).status).toBe(201);
  });

  it('forgets keys after 24 hours: an expired key creates anew, and the cleanup deletes expired keys', async () => {
    const k = key();
    const first = await call('POST', tasks, { command: 'expiring' }, undefined, withKey(k));
    const hours = Number((await sql<{ h: number }>`SELECT extract(epoch FROM max(expires_at) - max(created_at)) / 3600 AS h FROM idempotency_keys`.execute(database.db)).rows[0].h);
    expect(hours).toBe(24);
    await sql`UPDATE idempotency_keys SET expires_at = now() - interval '1 second'`.execute(database.db);
    const later = await call('POST', tasks, { command: 'expiring' }, undefined, withKey(k));
    expect(later.status).toBe(201);
    expect(later.body.id).not.toBe(first.body.id);
    const left = async () => Number((await sql<{ n: string }>`SELECT count(*) AS n FROM idempotency_keys`.execute(database.db)).rows[0].n);
    const before = await left();
    expect(await deleteExpiredIdempotencyKeys(database.db)).toBe(before - 1);
    expect(await left()).toBe(1);
  });
});
