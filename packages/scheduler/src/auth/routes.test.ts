import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, APP_PATH, ADMIN_TOKEN } from '../testing/test-app.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../testing/test-database.js';

describe.each(DATABASE_KINDS)('authentication and tokens on %s', (kind) => {
  let database: TestDatabase;
  let call: Awaited<ReturnType<typeof createTestApp>>['call'];

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    ({ call } = await createTestApp(database));
    await call('POST', APP_PATH, { name: 'web', image: 'web:1' });
  });
  afterAll(() => database.drop());

  it('answers /healthz and the OpenAPI document', async () => {
    const health = await call('GET', '/healthz', undefined, null);
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok', database: kind });
    // Under /v1, like every route there, it needs a token (docs/api.md).
    expect((await call('GET', '/v1/openapi.json', undefined, null)).status).toBe(401);
    const openapi = await call('GET', '/v1/openapi.json');
    expect(openapi.body.openapi).toBe('3.1.0');
    const create = openapi.body.paths['/v1/projects/{project}/stages/{stage}/apps/{app}/tasks'].post;
    expect(Object.keys(create.requestBody.content['application/json'].schema.properties)).toEqual(
      expect.arrayContaining(['command', 'args', 'memoryGb', 'cpu', 'maxHours', 'ephemeralStorageGb', 'dockerTag', 'image', 'initiatedBy']),
    );
    // Parameters with the schemas the routes check: what test/fuzz/http-api.test.ts generates from.
    const list = openapi.body.paths['/v1/tasks'].get.parameters;
    expect(list.map((p: { name: string; in: string }) => `${p.in}:${p.name}`)).toEqual(['query:project', 'query:stage', 'query:app', 'query:status', 'query:limit', 'query:cursor']);
    expect(list.find((p: { name: string }) => p.name === 'limit').schema).toMatchObject({ type: 'integer', minimum: 1, maximum: 500 });
    expect(openapi.body.paths['/v1/tasks/{id}'].get.parameters[0].schema.pattern).toBe('^[0-9a-f]{4,32}$');
  });

  it('refuses /v1 without a token, or with a wrong one, with 401', async () => {
    const none = await call('GET', '/v1/tasks', undefined, null);
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('UNAUTHORIZED');
    expect((await call('GET', '/v1/tasks', undefined, 'wrong-token-wrong-token')).status).toBe(401);
  });

  it('stores tokens hashed and shows the secret only once', async () => {
    const created = await call('POST', '/v1/tokens', { name: 'ci', role: 'member' });
    expect(created.status).toBe(201);
    expect(created.body.token).toMatch(/^tapit_/);
    const rows = await database.db.selectFrom('tokens').select(['name', 'token_hash']).execute();
    for (const row of rows) {
      expect(row.token_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(row.token_hash).not.toBe(created.body.token);
      expect(row.token_hash).not.toBe(ADMIN_TOKEN);
    }
    const listed = await call('GET', '/v1/tokens');
    expect(JSON.stringify(listed.body)).not.toContain(created.body.token);
    expect((await call('GET', '/v1/whoami', undefined, created.body.token)).body).toEqual({ name: 'ci', role: 'member', project: null });
  });

  it('enforces roles: a viewer reads, a member runs tasks, only an admin manages tokens', async () => {
    const viewer = (await call('POST', '/v1/tokens', { name: 'auditor', role: 'viewer' })).body.token;
    const member = (await call('POST', '/v1/tokens', { name: 'dev', role: 'member' })).body.token;
    expect((await call('GET', '/v1/tasks', undefined, viewer)).status).toBe(200);
    const refused = await call('POST', `${APP_PATH}/web/tasks`, { command: 'true' }, viewer);
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toContain('viewer');
    const ran = await call('POST', `${APP_PATH}/web/tasks`, { command: 'true' }, member);
    expect(ran.status).toBe(201);
    expect(ran.body.createdBy).toBe('dev');
    expect((await call('POST', '/v1/tokens', { name: 'x', role: 'admin' }, member)).status).toBe(403);
  });

  it('hides other projects from a project token', async () => {
    await call('POST', '/v1/projects', { name: 'other' });
    await call('POST', '/v1/projects/other/stages/default/apps', { name: 'secret', image: 's:1' });
    const foreign = (await call('POST', '/v1/projects/other/stages/default/apps/secret/tasks', { command: 'true' })).body.id;
    const scoped = (await call('POST', '/v1/tokens', { name: 'team-default', role: 'member', project: 'default' })).body.token;
    expect((await call('GET', '/v1/projects/other/stages/default/apps', undefined, scoped)).status).toBe(404);
    expect((await call('GET', `/v1/tasks/${foreign}`, undefined, scoped)).status).toBe(404);
    const listed = await call('GET', '/v1/tasks?limit=500', undefined, scoped);
    expect(listed.body.items.every((t: { project: string }) => t.project === 'default')).toBe(true);
    expect((await call('GET', '/v1/projects', undefined, scoped)).body.items.map((p: { name: string }) => p.name)).toEqual(['default']);
    // Another project's task id as a list cursor answers as an id that does not exist: nothing learnt.
    const cursorOf = (id: string) => Buffer.from(id).toString('base64url');
    const viaForeign = await call('GET', `/v1/tasks?cursor=${cursorOf(foreign)}`, undefined, scoped);
    const viaNothing = await call('GET', `/v1/tasks?cursor=${cursorOf('0'.repeat(32))}`, undefined, scoped);
    expect(viaForeign.status).toBe(400);
    expect(viaForeign.body).toEqual(viaNothing.body);
    expect(viaForeign.body.error.field).toBe('cursor');
  });

  it('creates tokens only for projects that exist', async () => {
    const early = await call('POST', '/v1/tokens', { name: 'early-bird', role: 'member', project: 'not-yet' });
    expect(early.status).toBe(404);
    expect(early.body.error).toMatchObject({ code: 'NOT_FOUND', field: 'project' });
    expect(early.body.error.message).toContain('"not-yet"');
    expect(await database.db.selectFrom('tokens').select('name').where('name', '=', 'early-bird').executeTakeFirst()).toBeUndefined();
    await call('POST', '/v1/projects', { name: 'not-yet' });
    expect((await call('POST', '/v1/tokens', { name: 'early-bird', role: 'member', project: 'not-yet' })).status).toBe(201);
  });

  it('keeps a project admin inside its project: no tokens, no projects', async () => {
    const projectAdmin = (await call('POST', '/v1/tokens', { name: 'lead', role: 'admin', project: 'default' })).body.token;
    const escalate = await call('POST', '/v1/tokens', { name: 'root2', role: 'admin' }, projectAdmin);
    expect(escalate.status).toBe(403);
    expect(escalate.body.error.message).toContain('limited to project default');
    expect((await call('GET', '/v1/tokens', undefined, projectAdmin)).status).toBe(403);
    expect((await call('DELETE', '/v1/tokens/bootstrap', undefined, projectAdmin)).status).toBe(403);
    expect((await call('POST', '/v1/projects', { name: 'mine' }, projectAdmin)).status).toBe(403);
    expect((await call('POST', '/v1/projects/default/stages', { name: 'qa' }, projectAdmin)).status).toBe(201);
  });

  it('stops a revoked token at once', async () => {
    const token = (await call('POST', '/v1/tokens', { name: 'temp', role: 'viewer' })).body.token;
    expect((await call('GET', '/v1/whoami', undefined, token)).status).toBe(200);
    expect((await call('DELETE', '/v1/tokens/temp')).status).toBe(204);
    expect((await call('GET', '/v1/whoami', undefined, token)).status).toBe(401);
    expect((await call('DELETE', '/v1/tokens/temp')).status).toBe(404);
  });

  it('refuses an oversized body with 413', async () => {
    const huge = await call('POST', `${APP_PATH}/web/tasks`, { command: 'x'.repeat(2 * 1024 * 1024) });
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });
});
