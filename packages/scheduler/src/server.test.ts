import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnScheduler } from './testing/scheduler-process.js';
import { ADMIN_TOKEN, APP_PATH } from './testing/test-app.js';
import { createTestDatabase } from './testing/test-database.js';

describe('tapit-scheduler process on its embedded database', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tapit-scheduler-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  const call = (url: string, method: string, path: string, body?: unknown, token: string | null = ADMIN_TOKEN) =>
    fetch(`${url}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('starts with no configuration, answers /healthz, refuses /v1 without a token, and keeps data across a restart', async () => {
    const env = { TAPIT_DATA_DIR: dataDir, TAPIT_BOOTSTRAP_TOKEN: ADMIN_TOKEN };
    const first = await spawnScheduler(env);
    expect(await (await call(first.url, 'GET', '/healthz', undefined, null)).json()).toMatchObject({ status: 'ok', database: 'embedded' });
    expect((await call(first.url, 'GET', '/v1/tasks', undefined, null)).status).toBe(401);
    // Metrics are open to no one by default: no TAPIT_METRICS_TOKEN, no TAPIT_METRICS_LISTEN.
    expect((await call(first.url, 'GET', '/metrics', undefined, null)).status).toBe(404);
    expect((await call(first.url, 'GET', '/metrics')).status).toBe(404);
    expect((await call(first.url, 'POST', APP_PATH, { name: 'web', image: 'web:1' })).status).toBe(201);
    const task = await (await call(first.url, 'POST', `${APP_PATH}/web/tasks`, { command: 'echo kept' })).json();
    await first.stop();
    expect(first.child.exitCode).toBe(0);

    const second = await spawnScheduler(env);
    const apps = await (await call(second.url, 'GET', APP_PATH)).json();
    expect(apps.items.map((a: { name: string }) => a.name)).toEqual(['web']);
    const again = await (await call(second.url, 'GET', `/v1/tasks/${task.id}`)).json();
    expect(again).toMatchObject({ id: task.id, command: ['/bin/sh', '-c', 'echo kept'], status: 'PROVISIONING' });
    await second.stop();
  });

  it('refuses a bad variable with one line naming it and exit code 2', () => {
    const bin = fileURLToPath(new URL('../bin/tapit-scheduler.js', import.meta.url));
    const result = spawnSync(process.execPath, [bin], { env: { ...process.env, TAPIT_PORT: 'seventy' }, encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('TAPIT_PORT');
  });

  it('refuses a data folder other users may open, in one line saying how to fix it, with exit code 2', () => {
    const bin = fileURLToPath(new URL('../bin/tapit-scheduler.js', import.meta.url));
    const open = mkdtempSync(join(tmpdir(), 'tapit-open-'));
    chmodSync(open, 0o755);
    const result = spawnSync(process.execPath, [bin], { env: { ...process.env, TAPIT_DATA_DIR: open, TAPIT_PORT: '0' }, encoding: 'utf8', timeout: 60_000 });
    rmSync(open, { recursive: true, force: true });
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(`run \`chmod 700 ${open}\``);
  });

  it('warns when TAPIT_BOOTSTRAP_TOKEN changed, and create-admin-token lets an admin back in', async () => {
    const database = await createTestDatabase('postgres', { migrated: false });
    const bin = fileURLToPath(new URL('../bin/tapit-scheduler.js', import.meta.url));
    const env = { TAPIT_DATABASE_URL: database.url!, TAPIT_BOOTSTRAP_TOKEN: ADMIN_TOKEN };
    try {
      const first = await spawnScheduler(env);
      expect(first.output()).not.toContain('differs');
      // Every admin token revoked: nobody can get back in through the API.
      expect((await call(first.url, 'DELETE', '/v1/tokens/bootstrap')).status).toBe(204);
      await first.stop();

      const changed = await spawnScheduler({ ...env, TAPIT_BOOTSTRAP_TOKEN: 'a-new-bootstrap-token-0123' });
      expect(changed.output()).toMatch(/TAPIT_BOOTSTRAP_TOKEN differs from the bootstrap token stored at first start.*tapit-scheduler create-admin-token/);
      expect((await call(changed.url, 'GET', '/v1/whoami', undefined, 'a-new-bootstrap-token-0123')).status).toBe(401);

      const created = spawnSync(process.execPath, [bin, 'create-admin-token', 'rescue'], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
      expect(created.status, created.stderr).toBe(0);
      const secret = created.stdout.trim();
      expect(secret).toMatch(/^tapit_\S+$/);
      expect(created.stderr).toContain('admin token "rescue"');
      const whoami = await call(changed.url, 'GET', '/v1/whoami', undefined, secret);
      expect(await whoami.json()).toEqual({ name: 'rescue', role: 'admin', project: null });

      const again = spawnSync(process.execPath, [bin, 'create-admin-token', 'rescue'], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
      expect(again.status).toBe(2);
      expect(again.stderr.trim()).toBe('tapit-scheduler: a token named "rescue" already exists: give another NAME');
      await changed.stop();
    } finally {
      await database.drop();
    }
  });

  it('migrates with `tapit-scheduler migrate` and exits', () => {
    const bin = fileURLToPath(new URL('../bin/tapit-scheduler.js', import.meta.url));
    const dir = mkdtempSync(join(tmpdir(), 'tapit-migrate-'));
    const result = spawnSync(process.execPath, [bin, 'migrate'], { env: { ...process.env, TAPIT_DATA_DIR: dir }, encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stderr).toContain('migrations applied: 0001-initial');
    const again = spawnSync(process.execPath, [bin, 'migrate'], { env: { ...process.env, TAPIT_DATA_DIR: dir }, encoding: 'utf8' });
    expect(again.stderr).toContain('up to date');
    rmSync(dir, { recursive: true, force: true });
  });
});
