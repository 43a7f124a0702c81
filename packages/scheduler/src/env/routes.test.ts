import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox, SecretKeyMissingError, secretKeyOf } from '../secrets/secret-box.js';
import { createTestApp, APP_PATH } from '../testing/test-app.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../testing/test-database.js';
import { taskEnvs } from './task-env.js';
import { resealSecrets } from './reseal.js';

const SECRET = 'pa55-w0rd-never-shown';
const OVERRIDE = 'override-also-hidden';

describe.each(DATABASE_KINDS)('app env vars on %s', (kind) => {
  let database: TestDatabase;
  let call: Awaited<ReturnType<typeof createTestApp>>['call'];
  const oldKey = secretKeyOf(randomBytes(32));
  const oldBox = new SecretBox(oldKey);

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    ({ call } = await createTestApp(database, { secrets: oldBox }));
    await call('POST', APP_PATH, { name: 'web', image: 'web:1' });
  });
  afterAll(() => database.drop());

  it('sets plain and secret vars, lists a secret without its value, and keeps it sealed at rest', async () => {
    const plain = await call('PATCH', `${APP_PATH}/web/env`, { vars: { RAILS_ENV: 'production', LOG_LEVEL: 'info' } });
    expect(plain.status).toBe(200);
    const secret = await call('PATCH', `${APP_PATH}/web/env`, { vars: { DATABASE_PASSWORD: SECRET }, secret: true });
    expect(secret.status).toBe(200);
    expect(secret.text).not.toContain(SECRET);
    const list = await call('GET', `${APP_PATH}/web/env`);
    expect(list.body.items).toEqual([
      { key: 'DATABASE_PASSWORD', secret: true, value: null, setAt: expect.any(String), setBy: 'bootstrap' },
      expect.objectContaining({ key: 'LOG_LEVEL', secret: false, value: 'info' }),
      expect.objectContaining({ key: 'RAILS_ENV', secret: false, value: 'production' }),
    ]);
    expect(list.text).not.toContain(SECRET);
    const rows = await database.db.selectFrom('app_env_vars').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(SECRET);
    const audit = await database.db.selectFrom('audit_events').selectAll().where('action', '=', 'env.update').orderBy('id').execute();
    expect(audit.map((event) => event.details)).toEqual([
      { set: ['RAILS_ENV', 'LOG_LEVEL'], unset: [], secret: false },
      { set: ['DATABASE_PASSWORD'], unset: [], secret: true },
    ]);
    expect(JSON.stringify(audit)).not.toContain(SECRET);
    expect(JSON.stringify(audit)).not.toContain('production');
  });

  it('refuses bad names, values and counts, naming the name and the rule, and changes nothing', async () => {
    for (const [vars, says] of [
      [{ '1BAD': 'x' }, '"1BAD" must be a POSIX environment variable name'],
      [{ 'WITH-DASH': 'x' }, '"WITH-DASH" must be a POSIX'],
      [{ NUL: 'a\0b' }, 'must not contain NUL bytes'],
      [{ BIG: 'x'.repeat(32769) }, 'at most 32768 characters'],
      [{}, 'give at least one variable'],
    ] as const) {
      const refused = await call('PATCH', `${APP_PATH}/web/env`, { vars });
      expect(refused.status).toBe(400);
      expect(refused.body.error.code).toBe('VALIDATION_FAILED');
      expect(refused.body.error.message).toContain(says);
    }
    const tooMany = Object.fromEntries(Array.from({ length: 199 }, (_, i) => [`V${i}`, 'x']));
    const over = await call('PATCH', `${APP_PATH}/web/env`, { vars: tooMany });
    expect(over.status).toBe(400);
    expect(over.body.error.message).toContain('at most 200 env vars');
    const missing = await call('PATCH', `${APP_PATH}/web/env`, { vars: { RAILS_ENV: null, NOPE: null } });
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toContain('NOPE');
    const list = await call('GET', `${APP_PATH}/web/env`);
    expect(list.body.items.map((v: { key: string }) => v.key)).toEqual(['DATABASE_PASSWORD', 'LOG_LEVEL', 'RAILS_ENV']);
  });

  it('unsets vars; a viewer reads the list, only a member changes it', async () => {
    const unset = await call('PATCH', `${APP_PATH}/web/env`, { vars: { LOG_LEVEL: null } });
    expect(unset.status).toBe(200);
    expect(unset.body.items.map((v: { key: string }) => v.key)).toEqual(['DATABASE_PASSWORD', 'RAILS_ENV']);
    const viewer = await call('POST', '/v1/tokens', { name: 'env-viewer', role: 'viewer' });
    expect((await call('GET', `${APP_PATH}/web/env`, undefined, viewer.body.token)).status).toBe(200);
    expect((await call('PATCH', `${APP_PATH}/web/env`, { vars: { A: '1' } }, viewer.body.token)).status).toBe(403);
  });

  it('seals a task\'s own vars, shows their names only, and gives the task its app\'s vars with its own over them', async () => {
    const created = await call('POST', `${APP_PATH}/web/tasks`, { command: 'env', env: { RAILS_ENV: 'staging', API_TOKEN: OVERRIDE }, constraints: { placed: 'never' } });
    expect(created.status).toBe(201);
    expect(created.body.envKeys).toEqual(['API_TOKEN', 'RAILS_ENV']);
    expect(created.text).not.toContain(OVERRIDE);
    expect((await call('GET', `/v1/tasks/${created.body.id}`)).text).not.toContain(OVERRIDE);
    const row = await database.db.selectFrom('tasks').selectAll().where('id', '=', created.body.id).executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(OVERRIDE);
    const audit = await database.db.selectFrom('audit_events').selectAll().where('target_id', '=', created.body.id).execute();
    expect(audit[0]!.details).toMatchObject({ envKeys: ['API_TOKEN', 'RAILS_ENV'] });
    expect(JSON.stringify(audit)).not.toContain(OVERRIDE);
    const [env] = await taskEnvs(database.db, oldBox, [row]);
    expect(env).toEqual({ env: { DATABASE_PASSWORD: SECRET, RAILS_ENV: 'staging', API_TOKEN: OVERRIDE }, secretKeys: ['API_TOKEN', 'DATABASE_PASSWORD', 'RAILS_ENV'] });
    const refused = await call('POST', `${APP_PATH}/web/tasks`, { command: 'env', env: { 'NO-DASH': 'x' } });
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toContain('"NO-DASH" must be a POSIX environment variable name');
  });

  it('after a key rotation, reads what the previous key sealed, seals it again, and then needs only the new key', async () => {
    const row = await database.db.selectFrom('tasks').selectAll().where('env_sealed', 'is not', null).executeTakeFirstOrThrow();
    const newKey = secretKeyOf(randomBytes(32));
    const rotated = new SecretBox(newKey, [oldKey]);
    expect(await taskEnvs(database.db, rotated, [row])).toEqual(await taskEnvs(database.db, oldBox, [row]));
    expect(await resealSecrets(database.db, rotated)).toEqual({ resealed: 2, unreadable: [] });
    expect(await resealSecrets(database.db, rotated)).toEqual({ resealed: 0, unreadable: [] });
    const newOnly = new SecretBox(newKey);
    const resealed = await database.db.selectFrom('tasks').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
    const [env] = await taskEnvs(database.db, newOnly, [resealed]);
    expect(env).toMatchObject({ env: { DATABASE_PASSWORD: SECRET, API_TOKEN: OVERRIDE } });
    // The old key alone no longer opens them: a replica lacking the new key (a rolling rotation)
    // fails the task naming the var and the key id, never a value, and refuses to start.
    const [failed] = await taskEnvs(database.db, oldBox, [resealed]);
    expect(failed).toEqual({ failure: expect.stringContaining(`its app's secret DATABASE_PASSWORD cannot be read: a secret was sealed with key ${newKey.id}`) });
    await expect(resealSecrets(database.db, oldBox)).rejects.toThrow(SecretKeyMissingError);
  });
});
