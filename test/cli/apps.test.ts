import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppList, ReleaseList } from '@tapit/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, runCli, runCliOnTerminal } from '../support/cli.js';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { freePort, startScheduler, type RunningScheduler } from '../support/scheduler.js';

let scheduler: RunningScheduler;
let env: Record<string, string>;

beforeAll(async () => {
  scheduler = await startScheduler();
  env = cliEnv(scheduler, await mkdtemp(join(tmpdir(), 'tapit-cli-config-')));
}, HOOK_TIMEOUT_MS);
afterAll(() => scheduler?.stop(), HOOK_TIMEOUT_MS);

const tapit = (...args: string[]) => runCli(args, { env });

describe('tapit projects, stages, apps and releases', () => {
  it('creates an app and lists it, as a table and as JSON', async () => {
    const created = await tapit('create', 'app', 'web', 'image=busybox:1.36', 'memory=0.25', 'max_hours=2');
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout).toContain('Created app web in default/default: busybox:1.36, release 1 active');

    const table = await tapit('list', 'apps');
    expect(table.stdout).toMatch(/^web\s+busybox:1\.36\s+1\s+0\.25\s+0\.25\s+2\s/m);

    const json = await tapit('list', 'apps', '--json');
    const apps = AppList.parse(JSON.parse(json.stdout));
    expect(apps.items.map((a) => [a.name, a.defaults.memoryGb, a.defaults.maxHours])).toEqual([['web', 0.25, 2]]);
  });

  it('creates an app whose console recordings keep what users type, only when asked to', async () => {
    const typed = await tapit('create', 'app', 'admin-console', 'image=busybox:1.36', 'record_input=true');
    expect(typed.code, typed.stderr).toBe(0);
    expect(typed.stdout).toContain('Console recordings of its tasks keep what users type (record_input=true)');
    const bad = await tapit('create', 'app', 'other', 'image=busybox:1.36', 'record_input=yes');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('Error: Invalid value "yes" for record_input: must be true or false\n');
    const apps = AppList.parse(JSON.parse((await tapit('list', 'apps', '--json')).stdout));
    expect(apps.items.find((a) => a.name === 'admin-console')?.recordInput).toBe(true);
    expect(apps.items.find((a) => a.name === 'web')?.recordInput).toBe(false);
  });

  it('creates an app whose tasks run with a read-only root filesystem (read_only=true)', async () => {
    const created = await tapit('create', 'app', 'locked', 'image=busybox:1.36', 'read_only=true');
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain('Root filesystem: read-only (/tmp writable)');
    expect((await tapit('list', 'apps')).stdout).toMatch(/^locked\s+busybox:1\.36\s+1\s+0\.25\s+0\.5\s+none\s+yes\s/m);
    const apps = AppList.parse(JSON.parse((await tapit('list', 'apps', '--json')).stdout));
    expect(apps.items.find((a) => a.name === 'locked')?.readOnly).toBe(true);
    expect(apps.items.find((a) => a.name === 'web')?.readOnly).toBe(false);
  });

  it('creates releases that become active (colon and space forms)', async () => {
    await tapit('create', 'app', 'api', 'image=busybox:1.36');
    const created = await tapit('create:release', 'image=busybox:1.37', '-a', 'api');
    expect(created.code).toBe(0);
    expect(created.stdout).toContain('Created release 2 of api: busybox:1.37 (active)');
    const list = ReleaseList.parse(JSON.parse((await tapit('list', 'releases', '-a', 'api', '--json')).stdout));
    expect(list.items.map((r) => [r.number, r.active])).toEqual([
      [2, true],
      [1, false],
    ]);
  });

  it('creates a project and a stage in it, then an app there via TAPIT_PROJECT/TAPIT_STAGE', async () => {
    expect((await tapit('create', 'project', 'shop')).code).toBe(0);
    const stage = await tapit('create', 'stage', 'prod', '-p', 'shop');
    expect(stage.stdout).toContain('Created stage prod in project shop');
    const app = await runCli(['create', 'app', 'worker', 'image=busybox:1.36'], { env: { ...env, TAPIT_PROJECT: 'shop', TAPIT_STAGE: 'prod' } });
    expect(app.stdout).toContain('Created app worker in shop/prod');
    expect((await tapit('list', 'apps', '-p', 'shop', '-s', 'prod')).stdout).toMatch(/^worker\s/m);
  });

  it('rejects bad key=value input with exit 2, one line naming the key, and sends nothing', async () => {
    const unknown = await tapit('create', 'app', 'db', 'image=busybox:1.36', 'size=3');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('Error: Unknown key "size": allowed keys are image, cpu, memory, max_hours, record_input, constraint, read_only, log_retention_days, pull_policy\n');

    const missing = await tapit('create', 'app', 'db');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^Error: Missing key "image": .*\n$/);

    const bad = await tapit('create', 'app', 'db', 'image=busybox:1.36', 'cpu=lots');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('Error: Invalid value "lots" for cpu: must be a number of vCPUs from 0.01 to 64\n');

    const readOnly = await tapit('create', 'app', 'db', 'image=busybox:1.36', 'read_only=maybe');
    expect(readOnly.code).toBe(2);
    expect(readOnly.stderr).toBe('Error: Invalid value "maybe" for read_only: must be true or false\n');

    // An image reference the engine would redirect elsewhere (issue 8).
    const hostile = await tapit('create', 'app', 'db', 'image=a/../../127.0.0.1:9/x');
    expect(hostile.code).toBe(2);
    expect(hostile.stderr).toMatch(/^Error: Invalid value "a\/\.\.\/\.\.\/127\.0\.0\.1:9\/x" for image: "\.\." is not a valid part of an image name.*\n$/);

    const apps = AppList.parse(JSON.parse((await tapit('list', 'apps', '--json')).stdout));
    expect(apps.items.map((a) => a.name)).not.toContain('db');
  });

  it('reports an API refusal as one line with exit 2', async () => {
    const duplicate = await tapit('create', 'app', 'web', 'image=busybox:1.36');
    expect(duplicate.code).toBe(2);
    expect(duplicate.stderr).toMatch(/^Error: .+\n$/);
    expect(duplicate.stderr).not.toMatch(/\bat .+\.js/);
  });
});

describe('tapit login and tokens', () => {
  it('checks the token, stores it with mode 0600, and later commands use it', async () => {
    const home = await mkdtemp(join(tmpdir(), 'tapit-login-'));
    const login = await runCli(['login', '--url', scheduler.url, '--token', scheduler.token], { env: { XDG_CONFIG_HOME: home } });
    expect(login.stderr).toBe('');
    expect(login.stdout).toContain(`Logged in to ${scheduler.url} as`);
    const path = join(home, 'tapit', 'config.json');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ url: scheduler.url, token: scheduler.token });
    const apps = await runCli(['list', 'apps'], { env: { XDG_CONFIG_HOME: home } });
    expect(apps.code).toBe(0);
    expect(apps.stdout).toMatch(/^web\s/m);
  });

  it('reads the token from stdin when it is not a terminal (echo $T | tapit login URL), keeping it out of ps', async () => {
    const home = await mkdtemp(join(tmpdir(), 'tapit-login-'));
    const login = await runCli(['login', scheduler.url], { env: { XDG_CONFIG_HOME: home }, input: `${scheduler.token}\n` });
    expect(login.stderr).toBe('');
    expect(login.code).toBe(0);
    expect(JSON.parse(await readFile(join(home, 'tapit', 'config.json'), 'utf8'))).toEqual({ url: scheduler.url, token: scheduler.token });
  });

  it('asks for the token on a terminal without echoing it', async () => {
    const home = await mkdtemp(join(tmpdir(), 'tapit-login-'));
    const login = await runCliOnTerminal(['login', scheduler.url], {
      env: { XDG_CONFIG_HOME: home },
      answers: [{ when: /API token: /, type: `${scheduler.token}\r` }],
    });
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toContain(`Logged in to ${scheduler.url} as bootstrap`);
    expect(`${login.stdout}${login.stderr}`).not.toContain(scheduler.token);
    expect(JSON.parse(await readFile(join(home, 'tapit', 'config.json'), 'utf8'))).toEqual({ url: scheduler.url, token: scheduler.token });
  });

  it('without a terminal and with nothing on stdin, says how to give the token (exit 2)', async () => {
    const home = await mkdtemp(join(tmpdir(), 'tapit-login-'));
    const login = await runCli(['login', scheduler.url], { env: { XDG_CONFIG_HOME: home }, input: '' });
    expect(login.code).toBe(2);
    expect(login.stderr).toMatch(/^Error: .*stdin.*TAPIT_TOKEN.*\n$/);
  });

  it('refuses a wrong token without storing it', async () => {
    const home = await mkdtemp(join(tmpdir(), 'tapit-login-'));
    const login = await runCli(['login', '--url', scheduler.url, '--token', 'wrong-token-0000000000'], { env: { XDG_CONFIG_HOME: home } });
    expect(login.code).toBe(2);
    expect(login.stderr).toMatch(/^Error: .+\n$/);
    await expect(stat(join(home, 'tapit', 'config.json'))).rejects.toThrow(/ENOENT/);
  });

  it('says which URL it could not reach (exit 1)', async () => {
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const result = await runCli(['list', 'apps'], { env: { ...env, TAPIT_URL: nobody } });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`Error: could not reach ${nobody}: ECONNREFUSED\n`);
  });

  it('creates, lists and revokes a token; the revoked one stops working', async () => {
    const created = await tapit('create', 'token', 'ci', 'role=viewer', '--json');
    expect(created.code).toBe(0);
    const secret = JSON.parse(created.stdout).token as string;
    expect((await tapit('list', 'tokens')).stdout).toMatch(/^ci\s+viewer\s/m);
    const asViewer = { ...env, TAPIT_TOKEN: secret };
    expect((await runCli(['list', 'apps'], { env: asViewer })).code).toBe(0);
    expect((await tapit('revoke', 'token', 'ci')).stdout).toContain('Revoked token ci');
    const refused = await runCli(['list', 'apps'], { env: asViewer });
    expect(refused.code).toBe(2);
    const badRole = await tapit('create', 'token', 'x', 'role=root');
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toMatch(/^Error: Invalid value "root" for role: .*admin.*member.*viewer/);
  });

  it('lists agents (none registered here) and their JSON parses', async () => {
    const list = await tapit('list', 'agents', '--json');
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual({ items: [] });
  });
});
