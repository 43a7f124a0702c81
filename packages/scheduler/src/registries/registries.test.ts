import { randomBytes } from 'node:crypto';
import { Registry, RegistryList } from '@tapit/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox, SecretKeyMissingError, secretKeyOf } from '../secrets/secret-box.js';
import { isUnsendable, taskAssignments } from '../tasks/task-assignment.js';
import { createTestApp } from '../testing/test-app.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../testing/test-database.js';
import { pullAuths, resealRegistryPasswords } from './repository.js';

const PASSWORD = 'ghp_never-shown-0123';
const registryPath = (project: string, host = 'ghcr.io') => `/v1/projects/${project}/registries/${encodeURIComponent(host)}`;

describe.each(DATABASE_KINDS)('registries on %s', (kind) => {
  let database: TestDatabase;
  let app: Awaited<ReturnType<typeof createTestApp>>;
  const tokens: Record<string, string> = {};
  const firstKey = secretKeyOf(randomBytes(32));

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    app = await createTestApp(database, { secrets: new SecretBox(firstKey) });
    for (const project of ['shop', 'blog']) {
      await app.call('POST', '/v1/projects', { name: project });
      await app.call('POST', `/v1/projects/${project}/stages/default/apps`, { name: 'web', image: 'ghcr.io/acme/web:1' });
    }
    for (const [name, role, project] of [['shop-viewer', 'viewer', 'shop'], ['shop-member', 'member', 'shop'], ['blog-member', 'member', 'blog']] as const) {
      tokens[name] = (await app.call('POST', '/v1/tokens', { name, role, project })).body.token;
    }
  });
  afterAll(() => database.drop());

  it('sets, replaces and lists credentials; the password is sealed at rest and never answered', async () => {
    const set = await app.call('PUT', registryPath('shop', 'GHCR.io'), { username: 'ci', password: 'first' }, tokens['shop-member']);
    expect(set.status, set.text).toBe(200);
    expect(Registry.parse(set.body)).toMatchObject({ project: 'shop', host: 'ghcr.io', username: 'ci', updatedBy: 'shop-member' });
    const replaced = await app.call('PUT', registryPath('shop'), { username: 'deploy', password: PASSWORD });
    expect(replaced.body).toMatchObject({ username: 'deploy', updatedBy: 'bootstrap' });

    const list = await app.call('GET', '/v1/projects/shop/registries', undefined, tokens['shop-viewer']);
    expect(RegistryList.parse(list.body).items).toEqual([expect.objectContaining({ host: 'ghcr.io', username: 'deploy' })]);
    const rows = await database.db.selectFrom('registries').selectAll().execute();
    expect(rows).toHaveLength(1);
    const audit = await app.call('GET', '/v1/audit?action=registry.set');
    expect(audit.body.items.map((e: { details: unknown }) => e.details)).toEqual([{ username: 'deploy', replaced: true }, { username: 'ci', replaced: false }]);
    for (const text of [set.text, replaced.text, list.text, audit.text, JSON.stringify(rows)]) {
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain('"first"');
    }
  });

  it('keeps projects apart and asks for a member to change them', async () => {
    expect((await app.call('GET', '/v1/projects/shop/registries', undefined, tokens['blog-member'])).status).toBe(404);
    expect((await app.call('PUT', registryPath('shop'), { username: 'x', password: 'y' }, tokens['blog-member'])).status).toBe(404);
    expect((await app.call('PUT', registryPath('shop'), { username: 'x', password: 'y' }, tokens['shop-viewer'])).status).toBe(403);
    expect((await app.call('DELETE', registryPath('shop'), undefined, tokens['shop-viewer'])).status).toBe(403);
    expect((await app.call('PUT', registryPath('nowhere'), { username: 'x', password: 'y' })).status).toBe(404);
  });

  it('refuses a bad host or body naming the field, and a delete of what is not there', async () => {
    const badHost = await app.call('PUT', registryPath('shop', 'https://ghcr.io'), { username: 'x', password: 'y' });
    expect(badHost.status).toBe(400);
    expect(badHost.body.error.message).toContain('must be a registry host');
    const noPassword = await app.call('PUT', registryPath('shop'), { username: 'x', password: '' });
    expect(noPassword.status).toBe(400);
    expect(noPassword.body.error.field).toBe('password');
    const missing = await app.call('DELETE', registryPath('blog'));
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toBe('registry "ghcr.io" of project "blog" not found');
  });

  it('puts the credentials in the assignment of a task whose image is on that registry, in its project only', async () => {
    const shopTask = (await app.call('POST', '/v1/projects/shop/stages/default/apps/web/tasks', { command: 'true' })).body.id as string;
    const hubTask = (await app.call('POST', '/v1/projects/shop/stages/default/apps/web/tasks', { command: 'true', image: 'busybox:1' })).body.id as string;
    const blogTask = (await app.call('POST', '/v1/projects/blog/stages/default/apps/web/tasks', { command: 'true' })).body.id as string;
    const rows = await database.db.selectFrom('tasks').selectAll().where('id', 'in', [shopTask, hubTask, blogTask]).execute();
    const frames = await taskAssignments({ db: database.db, secrets: app.secrets }, rows);
    const byTask = new Map(frames.filter((frame) => !isUnsendable(frame)).map((frame) => [frame.task.taskId, frame]));
    expect(byTask.get(shopTask)?.pullAuth).toEqual({ registry: 'ghcr.io', username: 'deploy', password: PASSWORD });
    expect(byTask.get(hubTask)?.pullAuth).toBeUndefined();
    expect(byTask.get(blogTask)?.pullAuth).toBeUndefined();
    // ghcr.io is private (a project holds credentials for it): its images are pulled for every
    // task, so blog never runs shop's image from an agent's cache without credentials of its own.
    expect(byTask.get(shopTask)?.task.pullPolicy).toBe('always');
    expect(byTask.get(blogTask)?.task.pullPolicy).toBe('always');
    expect(byTask.get(hubTask)?.task.pullPolicy).toBe('missing');
  });

  it('fails a task whose assignment would not fit the agent link, instead of sending it', async () => {
    const big = 'x'.repeat(32_000);
    const vars = Object.fromEntries(Array.from({ length: 140 }, (_, i) => [`BIG_${i}`, big]));
    for (let from = 0; from < 140; from += 20) {
      const part = Object.fromEntries(Object.entries(vars).slice(from, from + 20));
      expect((await app.call('PATCH', '/v1/projects/blog/stages/default/apps/web/env', { vars: part })).status).toBe(200);
    }
    const id = (await app.call('POST', '/v1/projects/blog/stages/default/apps/web/tasks', { command: 'true' })).body.id as string;
    const rows = await database.db.selectFrom('tasks').selectAll().where('id', '=', id).execute();
    const [frame] = await taskAssignments({ db: database.db, secrets: app.secrets }, rows);
    expect(isUnsendable(frame!) && frame.failure).toMatch(/^its assignment is \d+ bytes, more than an agent link carries \(4194304\)/);
  });

  it('after a key rotation opens what the old key sealed, seals it again with the new one, and names a key it lacks', async () => {
    const newKey = secretKeyOf(randomBytes(32));
    const rotated = new SecretBox(newKey, [firstKey]);
    const task = { id: 'a'.repeat(32), project: 'shop', image: 'ghcr.io/acme/web:1' };
    expect((await pullAuths(database.db, rotated, [task])).get(task.id)?.auth?.password).toBe(PASSWORD);
    expect(await resealRegistryPasswords(database.db, rotated)).toBe(1);
    expect(await resealRegistryPasswords(database.db, rotated)).toBe(0);
    // The new key alone opens it now; the old key alone does not.
    expect((await pullAuths(database.db, new SecretBox(newKey), [task])).get(task.id)?.auth?.password).toBe(PASSWORD);
    // A key this scheduler lacks fails that task alone, saying which key.
    const missing = (await pullAuths(database.db, app.secrets, [task])).get(task.id);
    expect(missing?.auth).toBeUndefined();
    expect(missing?.failure).toContain(`key ${newKey.id}`);
    await expect(resealRegistryPasswords(database.db, app.secrets)).rejects.toThrow(SecretKeyMissingError);
  });
});
