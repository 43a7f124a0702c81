import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { appLines, idFrom, startSystem, type System } from '../support/system.js';

// App config and secrets end to end with the built binaries and the real engine: set with the
// CLI, injected into the container, masked in the task log, and never shown back by the API, the
// CLI, the audit trail, either process's own output, the agent's state folder or the database.
const KEY_1 = randomBytes(32).toString('base64');
const KEY_2 = randomBytes(32).toString('hex');
const SECRET = `db-pw-${randomBytes(12).toString('hex')}`;
const OVERRIDE = `own-token-${randomBytes(12).toString('hex')}`;
let system: System;
/** Everything the CLI printed in this file, searched for the secrets at the end. */
const printed: string[] = [];

beforeAll(async () => {
  system = await startSystem({ schedulerEnv: { TAPIT_SECRET_KEY: KEY_1 } });
}, HOOK_TIMEOUT_MS);
afterAll(() => system?.stop(), HOOK_TIMEOUT_MS);

const why = () => system.output();
async function tapit(...args: string[]) {
  const result = await system.tapitWithin(60_000, ...args);
  printed.push(result.stdout, result.stderr);
  return result;
}
/** Every file of the agent's state folder, as text. */
function stateFolder(): string {
  const dir = system.agent.stateDir;
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => readFileSync(join(entry.parentPath, entry.name), 'latin1'))
    .join('\n');
}
async function query(text: string): Promise<string> {
  const client = new pg.Client({ connectionString: system.db.url });
  await client.connect();
  try {
    return JSON.stringify((await client.query(text)).rows);
  } finally {
    await client.end();
  }
}

describe('app config and secrets', () => {
  it('sets plain and secret vars; lists a secret as •••• with when and by whom; refuses a bad name with exit 2', async () => {
    expect((await tapit('set', 'env', 'PLAIN_VAR=plain-value-shown', 'SHARED=from-app')).code).toBe(0);
    const secret = await tapit('set', 'env', `DB_PASSWORD=${SECRET}`, '--secret');
    expect(secret.code, secret.stderr).toBe(0);
    expect(secret.stdout).toContain('Set DB_PASSWORD on web (secret');
    const list = await tapit('list', 'env');
    expect(list.stdout).toMatch(/^PLAIN_VAR\s+plain-value-shown\s+\d{4}-/m);
    expect(list.stdout).toMatch(/^DB_PASSWORD\s+•••• \(secret\)\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+bootstrap$/m);
    const json = JSON.parse((await tapit('list', 'env', '--json')).stdout);
    expect(json.items).toContainEqual(expect.objectContaining({ key: 'DB_PASSWORD', secret: true, value: null }));
    const bad = await tapit('set', 'env', '1BAD=x');
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toContain('"1BAD" must be a POSIX environment variable name');
    const unknownFlag = await tapit('task:run', '-e', 'NO-DASH=1', '--', 'true');
    expect(unknownFlag.code).toBe(2);
    expect(unknownFlag.stderr).toContain('"NO-DASH" must be a POSIX');
  });

  it("injects the app's vars, a task's own over them, and masks the secrets in the log as •••• everywhere it is shown", async () => {
    const script = 'echo "plain=$PLAIN_VAR"; echo "secret=$DB_PASSWORD"; echo "own=$OWN_TOKEN"; [ "$SHARED" = from-task ] && echo override-wins';
    const run = await tapit('create', 'task', script, 'env=SHARED=from-task', `env=OWN_TOKEN=${OVERRIDE}`, '--wait');
    expect(run.code, `${run.stderr}\n${why()}`).toBe(0);
    // Masking replaces only the exact value: `••••` proves the container got it.
    expect(appLines(run.stdout)).toEqual(['plain=plain-value-shown', 'secret=••••', 'own=••••', 'override-wins']);
    const id = idFrom(run.stdout) || (JSON.parse((await tapit('list', 'tasks', '--json')).stdout).items[0].id as string);
    const logs = await tapit('show', 'logs', `task=${id}`, '--json');
    expect(logs.stdout).toContain('secret=••••');
    const shown = await tapit('show', 'task', `task=${id}`);
    expect(shown.stdout).toMatch(/^Env \(own\):\s+OWN_TOKEN, SHARED \(values hidden\)$/m);
    expect((await tapit('show', 'task', `task=${id}`, '--json')).stdout).toContain('"envKeys":["OWN_TOKEN","SHARED"]');
    const flag = await tapit('task:run', '-e', 'SHARED=from-flag', '--', 'sh', '-c', '[ "$SHARED" = from-flag ] && echo flag-wins; echo "app=$PLAIN_VAR"');
    expect(flag.code, flag.stderr).toBe(0);
    expect(appLines(flag.stdout)).toEqual(['flag-wins', 'app=plain-value-shown']);
  });

  it("keeps the secrets out of the agent's state folder, and masks them after the agent's kill -9 (it asks for them again)", { timeout: 120_000 }, async () => {
    const created = await tapit('create', 'task', 'echo "first=$DB_PASSWORD"; while [ ! -e /tmp/go ]; do sleep 0.1; done; echo "second=$DB_PASSWORD $DB_PASSWORD"', `env=OWN_TOKEN=${OVERRIDE}`);
    const id = idFrom(created.stdout);
    const running = await system.waitForTask(id, (task) => task.status === 'RUNNING' && (task.log?.lines ?? 0) > 1);
    expect(running.status, why()).toBe('RUNNING');
    expect(stateFolder()).toContain(id);
    expect(stateFolder()).not.toContain(SECRET);
    expect(stateFolder()).not.toContain(OVERRIDE);
    await system.killAgent();
    await system.restartAgent();
    execFileSync('docker', ['exec', `tapit-${id}`, 'touch', '/tmp/go']);
    const done = await system.waitForTask(id, (task) => task.status === 'STOPPED', 60_000);
    expect(done.stopCode, why()).toBe('EXITED');
    expect((await system.logs(id)).filter((line) => line.stream === 'stdout').map((line) => line.text)).toEqual(['first=••••', 'second=•••• ••••']);
    expect(stateFolder()).not.toContain(SECRET);
  });

  it('after a key rotation the secrets still open, are sealed again, and then need only the new key', { timeout: 120_000 }, async () => {
    await system.restartScheduler(0, 'SIGTERM', { TAPIT_SECRET_KEY: KEY_2, TAPIT_SECRET_KEY_PREVIOUS: KEY_1 });
    expect(system.scheduler.output()).toMatch(/secrets: [1-9]\d* sealed again with the current key/);
    const rotated = await tapit('create', 'task', 'echo "secret=$DB_PASSWORD"', '--wait');
    expect(rotated.code, `${rotated.stderr}\n${why()}`).toBe(0);
    expect(appLines(rotated.stdout)).toEqual(['secret=••••']);
    await system.restartScheduler(0, 'SIGTERM', { TAPIT_SECRET_KEY: KEY_2, TAPIT_SECRET_KEY_PREVIOUS: '' });
    const newKeyOnly = await tapit('create', 'task', 'echo "secret=$DB_PASSWORD"', '--wait');
    expect(appLines(newKeyOnly.stdout), why()).toEqual(['secret=••••']);
    // With the first key alone (the new one lost), the scheduler refuses to start, naming the key it lacks.
    await expect(system.restartScheduler(0, 'SIGTERM', { TAPIT_SECRET_KEY: KEY_1 })).rejects.toThrow(/exited with code 2[\s\S]*a secret was sealed with key [0-9a-f]{8}, which this scheduler does not have/);
    await system.restartScheduler(0, 'SIGTERM', { TAPIT_SECRET_KEY: KEY_2 });
    const again = await tapit('create', 'task', 'echo "secret=$DB_PASSWORD"', '--wait');
    expect(appLines(again.stdout), why()).toEqual(['secret=••••']);
  });

  it('unsets vars, and the secrets are nowhere: API answers, CLI output, audit trail, database, the processes\' output', async () => {
    expect((await tapit('unset', 'env', 'PLAIN_VAR')).code).toBe(0);
    expect((await tapit('list', 'env')).stdout).not.toContain('PLAIN_VAR');
    const missing = await tapit('unset', 'env', 'NEVER_SET');
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('NEVER_SET');
    const audit = await tapit('list', 'audit', '--json');
    expect(audit.stdout).toContain('env.update');
    const api = await Promise.all(
      ['/v1/projects/default/stages/default/apps/web/env', '/v1/tasks?limit=50', '/v1/audit?limit=200'].map(async (path) => {
        const response = await fetch(`${system.scheduler.url}${path}`, { headers: { authorization: `Bearer ${system.scheduler.token}` } });
        return response.text();
      }),
    );
    const database = await query(
      "SELECT (SELECT json_agg(v) FROM app_env_vars v) AS vars, (SELECT json_agg(t) FROM tasks t) AS tasks, (SELECT json_agg(a) FROM audit_events a) AS audit, (SELECT json_agg(e) FROM task_events e) AS events",
    );
    expect(database).toContain('DB_PASSWORD');
    for (const [where, text] of [['CLI output', printed.join('\n')], ['API answers', api.join('\n')], ['database', database], ['scheduler and agent output', why()]] as const) {
      expect(text.includes(SECRET), `${where} holds the app's secret`).toBe(false);
      expect(text.includes(OVERRIDE), `${where} holds the task's own var`).toBe(false);
    }
  });
});
