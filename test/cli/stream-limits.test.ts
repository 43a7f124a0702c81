import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, runCli, startCli } from '../support/cli.js';
import { createDatabase, type FreshDatabase } from '../support/postgres.js';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { startScheduler, type RunningScheduler } from '../support/scheduler.js';

// No agent: the task stays PROVISIONING, so a follow of it stays open until the task is stopped.
let db: FreshDatabase;
let scheduler: RunningScheduler;
let env: Record<string, string>;

beforeAll(async () => {
  db = await createDatabase();
  scheduler = await startScheduler({ TAPIT_MAX_STREAMS_PER_TOKEN: '1' }, { databaseUrl: db.url });
  env = { ...cliEnv(scheduler, await mkdtemp(join(tmpdir(), 'tapit-cli-config-'))), TAPIT_APP: 'web' };
  const app = await runCli(['create', 'app', 'web', 'image=busybox:1.36'], { env });
  if (app.code !== 0) throw new Error(app.stderr);
}, HOOK_TIMEOUT_MS);
afterAll(async () => {
  await scheduler?.stop();
  await db?.drop();
}, HOOK_TIMEOUT_MS);

const tapit = (...args: string[]) => runCli(args, { env });

describe('tapit show logs --follow past the streams a token may hold', () => {
  it('says so in one line, exits non-zero, and follows again once the other stream ended', async () => {
    const created = await tapit('create', 'task', 'echo hello');
    const id = /^ID:\s+([0-9a-f]{32})$/m.exec(created.stdout)?.[1];
    expect(id, created.stderr).toBeDefined();
    const first = startCli(['show', 'logs', `task=${id}`, '--follow'], { env });
    await first.waitFor(/Task status is PROVISIONING/);

    const refused = await tapit('show', 'logs', `task=${id}`, '--follow');
    expect(refused.code).not.toBe(0);
    expect(refused.stdout).toBe('');
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toContain('TAPIT_MAX_STREAMS_PER_TOKEN');
    expect(refused.stderr).not.toMatch(/\n\s+at /);

    // The first follow ends with the task (exit code 1: stopped without one of its own); its
    // slot is free again.
    expect((await tapit('task:stop', id!)).code).toBe(0);
    expect((await first.result).stdout).toContain('Task stopped: USER_STOPPED');
    const again = await tapit('show', 'logs', `task=${id}`, '--follow');
    expect(again.stderr).not.toContain('TAPIT_MAX_STREAMS');
    expect(again.stdout).toContain('Task stopped: USER_STOPPED');
  });
});
