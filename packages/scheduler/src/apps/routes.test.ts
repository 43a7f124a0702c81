import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, APP_PATH } from '../testing/test-app.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../testing/test-database.js';

describe.each(DATABASE_KINDS)('apps and releases API on %s', (kind) => {
  let database: TestDatabase;
  let call: Awaited<ReturnType<typeof createTestApp>>['call'];

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    ({ call } = await createTestApp(database));
  });
  afterAll(() => database.drop());

  it('creates an app with the default resources and release 1 active', async () => {
    const created = await call('POST', APP_PATH, { name: 'web', image: 'registry.local/web:1' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'web', project: 'default', stage: 'default', defaults: { cpu: 0.25, memoryGb: 0.5, maxHours: null }, activeRelease: 1 });
    const releases = await call('GET', `${APP_PATH}/web/releases`);
    expect(releases.body.items).toEqual([expect.objectContaining({ number: 1, image: 'registry.local/web:1', active: true })]);
  });

  it('refuses a duplicate app with 409 and keeps the first', async () => {
    await call('POST', APP_PATH, { name: 'dup', image: 'a:1', cpu: 1 });
    const again = await call('POST', APP_PATH, { name: 'dup', image: 'b:2' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('CONFLICT');
    expect((await call('GET', `${APP_PATH}/dup`)).body).toMatchObject({ image: 'a:1', defaults: { cpu: 1 } });
  });

  it('names the bad field and writes nothing', async () => {
    const bad = await call('POST', APP_PATH, { name: 'Bad Name!', image: 'x' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'name' });
    const unknown = await call('POST', APP_PATH, { name: 'ok', image: 'x', colour: 'red' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain('colour');
    const list = await call('GET', APP_PATH);
    expect(list.body.items.map((a: { name: string }) => a.name)).not.toContain('ok');
  });

  it('refuses image references Docker would not accept, in apps and releases, naming the part', async () => {
    for (const image of ['a/../b', 'a/../../127.0.0.1:9/path', 'Web:1', 'web:-1', 'a//b']) {
      const app = await call('POST', APP_PATH, { name: 'hostile', image });
      expect(app.status, image).toBe(400);
      expect(app.body.error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'image' });
    }
    expect((await call('POST', APP_PATH, { name: 'hostile', image: 'a/../b' })).body.error.message).toMatch(/"\.\." is not a valid part of an image name/);
    expect((await call('GET', `${APP_PATH}/hostile`)).status).toBe(404);
    await call('POST', APP_PATH, { name: 'target', image: 'target:1' });
    const release = await call('POST', `${APP_PATH}/target/releases`, { image: 'target/../../x' });
    expect(release.status).toBe(400);
    expect(release.body.error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'image' });
    expect((await call('GET', `${APP_PATH}/target/releases`)).body.items).toHaveLength(1);
  });

  it('keeps read_only: off unless asked, and refuses a value that is not a boolean', async () => {
    expect((await call('POST', APP_PATH, { name: 'ro', image: 'ro:1', readOnly: true })).body).toMatchObject({ name: 'ro', readOnly: true });
    expect((await call('GET', `${APP_PATH}/ro`)).body.readOnly).toBe(true);
    expect((await call('POST', APP_PATH, { name: 'rw', image: 'rw:1' })).body.readOnly).toBe(false);
    const bad = await call('POST', APP_PATH, { name: 'rx', image: 'rx:1', readOnly: 'yes' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'readOnly' });
  });

  it('makes each new release the active one, numbered in order', async () => {
    await call('POST', APP_PATH, { name: 'rel', image: 'rel:1' });
    const r2 = await call('POST', `${APP_PATH}/rel/releases`, { image: 'rel:2' });
    const r3 = await call('POST', `${APP_PATH}/rel/releases`, { image: 'rel:3' });
    expect([r2.body.number, r3.body.number]).toEqual([2, 3]);
    const app = await call('GET', `${APP_PATH}/rel`);
    expect(app.body.activeRelease).toBe(3);
    const releases = await call('GET', `${APP_PATH}/rel/releases`);
    expect(releases.body.items.map((r: { number: number; active: boolean }) => [r.number, r.active])).toEqual([
      [3, true],
      [2, false],
      [1, false],
    ]);
  });

  it('creates projects with a default stage, and more stages', async () => {
    expect((await call('POST', '/v1/projects', { name: 'shop' })).status).toBe(201);
    expect((await call('POST', '/v1/projects/shop/stages', { name: 'production' })).body.stages).toEqual(['default', 'production']);
    expect((await call('POST', '/v1/projects/shop/stages/production/apps', { name: 'api', image: 'api:1' })).status).toBe(201);
    expect((await call('GET', '/v1/projects/shop/stages/production/apps')).body.items).toHaveLength(1);
  });

  it('answers 404 for an unknown project, stage or app', async () => {
    expect((await call('GET', '/v1/projects/nope/stages/default/apps')).status).toBe(404);
    expect((await call('GET', '/v1/projects/default/stages/nope/apps')).status).toBe(404);
    const app = await call('GET', `${APP_PATH}/nope`);
    expect(app.status).toBe(404);
    expect(app.body.error).toMatchObject({ code: 'NOT_FOUND', field: 'app' });
    expect(app.body.error.message).toContain('nope');
  });

  it('keeps an app\'s constraints, which a member changes and a viewer cannot; its tasks carry them with their own', async () => {
    const created = await call('POST', APP_PATH, { name: 'eu', image: 'eu:1', constraints: { region: 'eu' } });
    expect(created.body.constraints).toEqual({ region: 'eu' });
    const task = await call('POST', `${APP_PATH}/eu/tasks`, { command: 'true', constraints: { gpu: 'true', region: 'de' } });
    expect(task.body.constraints).toEqual({ region: 'de', gpu: 'true' });
    const viewer = (await call('POST', '/v1/tokens', { name: 'app-viewer', role: 'viewer' })).body.token;
    expect((await call('PATCH', `${APP_PATH}/eu`, { constraints: {} }, viewer)).status).toBe(403);
    const member = (await call('POST', '/v1/tokens', { name: 'app-member', role: 'member' })).body.token;
    const changed = await call('PATCH', `${APP_PATH}/eu`, { constraints: { region: 'us' } }, member);
    expect(changed.status).toBe(200);
    expect((await call('GET', `${APP_PATH}/eu`)).body.constraints).toEqual({ region: 'us' });
    expect((await call('PATCH', `${APP_PATH}/eu`, {})).body.error.field).toBe('constraints');
    expect((await call('PATCH', `${APP_PATH}/eu`, { constraints: { region: 'e u' } })).body.error.field).toBe('constraints.region');
    const many = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`k${i}`, 'v']));
    await call('PATCH', `${APP_PATH}/eu`, { constraints: many });
    const tooMany = await call('POST', `${APP_PATH}/eu/tasks`, { command: 'true', constraints: { extra: 'v' } });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.field).toBe('constraints');
  });
});
