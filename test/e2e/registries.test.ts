import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_IMAGE } from '../support/agent.js';
import { runCli } from '../support/cli.js';
import { buildImage, docker, removeImages } from '../support/docker.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { appLines, idFrom, startSystem, type System } from '../support/system.js';

// A private registry (Debian's docker-registry with htpasswd basic auth on 127.0.0.1): pulls by
// tag and by digest with the project's credentials, a wrong password failing the task with the
// registry's words, and the app's pull policies. The password must show nowhere but where it is
// sealed: not in API answers, CLI output, the audit trail, or the scheduler's or agent's output.
const PASSWORD = `reg-pass-${randomBytes(6).toString('hex')}`;
const USER = 'tapit-ci';
const suffix = randomBytes(3).toString('hex');
const LOCAL = `tapit-e2e/private-${suffix}:built`;
let registry: RunningRegistry;
let system: System;
let PRIVATE = '';
let DIGEST_REF = '';

/** The image is gone from the engine: a task on it has to pull it. */
const forget = (ref: string) => docker('image', 'rm', '-f', ref).catch(() => undefined);

beforeAll(async () => {
  registry = await startRegistry({ user: { username: USER, password: PASSWORD } });
  await buildImage(LOCAL, TEST_IMAGE, ['ENV VARIANT=private']);
  PRIVATE = `${registry.host}/private-${suffix}:v1`;
  await docker('tag', LOCAL, PRIVATE);
  await registry.push(PRIVATE);
  const repoDigest = (await docker('image', 'inspect', '--format', '{{range .RepoDigests}}{{println .}}{{end}}', PRIVATE)).split('\n').find((d) => d.startsWith(`${registry.host}/`));
  DIGEST_REF = repoDigest!.trim();
  await forget(PRIVATE);
  system = await startSystem();
  const created = await system.tapit('create', 'app', 'private', `image=${PRIVATE}`);
  if (created.code !== 0) throw new Error(created.stderr);
}, HOOK_TIMEOUT_MS);

afterAll(async () => {
  await system?.stop();
  await registry?.stop();
  await removeImages(LOCAL, PRIVATE, DIGEST_REF);
}, HOOK_TIMEOUT_MS);

const why = () => `${system.output()}\n--- registry ---\n${registry.output()}`;
const runPrivate = (...args: string[]) => system.tapitWithin(60_000, 'create', 'task', 'echo variant=$VARIANT', '-a', 'private', '--wait', ...args);

describe('private registries', () => {
  it('without credentials, or with a wrong password, the task fails to start with the registry’s words', async () => {
    const anonymous = await runPrivate();
    expect(anonymous.code, anonymous.stdout).not.toBe(0);
    const first = await system.task(idFrom(anonymous.stdout));
    expect(first.stopCode, why()).toBe('FAILED_TO_START');
    expect(first.stopReason).toMatch(new RegExp(`pulling image ${PRIVATE.replace(/[.]/g, '\\.')} failed: .*(no basic auth credentials|unauthorized|authentication required)`));

    const wrong = await system.tapit('create', 'registry', registry.host, `username=${USER}`, 'password=not-the-password');
    expect(wrong.code, wrong.stderr).toBe(0);
    const refused = await runPrivate();
    const task = await system.task(idFrom(refused.stdout));
    expect(task.stopCode, why()).toBe('FAILED_TO_START');
    expect(task.stopReason).toMatch(/unauthorized|authentication required/);
    // The pull said whose credentials it used: the username, never the password.
    expect(refused.stdout).toContain(`[system] Pulling image ${PRIVATE} (as ${USER} on ${registry.host})`);
  });

  it('pulls by tag and by digest with the project’s credentials (the password read from stdin), recording the digest', async () => {
    const set = await runCli(['create', 'registry', registry.host, `username=${USER}`], { env: system.env, input: `${PASSWORD}\n` });
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain(`Tasks of project default pull images from ${registry.host} as ${USER}`);

    const byTag = await runPrivate();
    expect(byTag.code, `${byTag.stdout}\n${byTag.stderr}\n${why()}`).toBe(0);
    expect(appLines(byTag.stdout)).toEqual(['variant=private']);
    const task = await system.task(idFrom(byTag.stdout));
    expect(task.imageDigest).toBe(DIGEST_REF);

    await forget(PRIVATE);
    await forget(DIGEST_REF);
    const byDigest = await runPrivate(`image=${DIGEST_REF}`);
    expect(byDigest.code, `${byDigest.stdout}\n${byDigest.stderr}\n${why()}`).toBe(0);
    expect(appLines(byDigest.stdout)).toEqual(['variant=private']);
    expect(byDigest.stdout).toContain(`[system] Pulling image ${DIGEST_REF}`);
    expect((await system.task(idFrom(byDigest.stdout))).imageDigest).toBe(DIGEST_REF);
  });

  it('an agent killed while it pulls with the project’s credentials gets them again after its restart, with the task’s env', async () => {
    await forget(PRIVATE);
    // The registry holds its answers: the pull is under way when the agent dies.
    process.kill(registry.pid, 'SIGSTOP');
    let resumed = false;
    try {
      const created = await system.tapit('create', 'task', 'echo variant=$VARIANT', '-a', 'private');
      expect(created.code, created.stderr).toBe(0);
      const id = idFrom(created.stdout);
      await system.waitForTask(id, (t) => t.status === 'PENDING' && t.agent !== null);
      const pulling = async () => (await system.logs(id)).some((line) => line.text.startsWith(`Pulling image ${PRIVATE}`));
      for (let i = 0; i < 100 && !(await pulling()); i++) await new Promise((resolve) => setTimeout(resolve, 100));
      await system.killAgent();
      process.kill(registry.pid, 'SIGCONT');
      resumed = true;
      await system.restartAgent();
      const task = await system.waitForTask(id, (t) => t.status === 'STOPPED', 60_000);
      expect(task, why()).toMatchObject({ stopCode: 'EXITED', exitCode: 0 });
      expect((await system.logs(id)).filter((line) => line.stream === 'stdout').map((line) => line.text)).toEqual(['variant=private']);
    } finally {
      if (!resumed) process.kill(registry.pid, 'SIGCONT');
    }
  });

  it('pull policies: always pulls every time, never refuses what is not there, and a private image is pulled for every task whatever the policy', async () => {
    expect((await system.tapit('update', 'app', 'private', 'pull_policy=always')).code).toBe(0);
    const always = await runPrivate();
    expect(always.code, `${always.stdout}\n${why()}`).toBe(0);
    expect(always.stdout).toContain(`[system] Pulling image ${PRIVATE} (as ${USER} on ${registry.host})`);

    // The image is on the engine now, but its registry is private: `missing` pulls it all the
    // same, so the registry checks every task's credentials.
    expect((await system.tapit('update', 'app', 'private', 'pull_policy=missing')).code).toBe(0);
    const present = await runPrivate();
    expect(present.code, why()).toBe(0);
    expect(present.stdout).toContain(`[system] Pulling image ${PRIVATE} (as ${USER} on ${registry.host})`);

    // Another project, without credentials of its own, never runs it from the engine's cache.
    for (const args of [['create', 'project', 'intruder'], ['create', 'app', 'copycat', `image=${PRIVATE}`, '-p', 'intruder']]) {
      const made = await system.tapit(...args);
      expect(made.code, made.stderr).toBe(0);
    }
    const copycat = await system.tapitWithin(60_000, 'create', 'task', 'echo variant=$VARIANT', '-p', 'intruder', '-a', 'copycat', '--wait');
    expect(appLines(copycat.stdout)).toEqual([]);
    const refused = await system.task(idFrom(copycat.stdout));
    expect(refused.stopCode, why()).toBe('FAILED_TO_START');
    expect(refused.stopReason).toMatch(/no basic auth credentials|unauthorized|authentication required/);

    const bad = await system.tapit('update', 'app', 'private', 'pull_policy=sometimes');
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe('Error: Invalid value "sometimes" for pull_policy: allowed values are always, missing, never');

    const absent = `tapit-e2e/absent-${suffix}:never`;
    expect((await system.tapit('create', 'app', 'absent', `image=${absent}`, 'pull_policy=never')).code).toBe(0);
    const never = await system.tapitWithin(60_000, 'create', 'task', 'true', '-a', 'absent', '--wait');
    const task = await system.task(idFrom(never.stdout));
    expect(task.stopCode, why()).toBe('FAILED_TO_START');
    expect(task.stopReason).toBe(`image ${absent} is not on this agent's Docker engine, and the app's pull policy is never`);
  });

  it('lists registries without the password, and the password shows nowhere: API, CLI, audit, scheduler and agent output', async () => {
    const list = await system.tapit('list', 'registries');
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`${registry.host.replace(/[.]/g, '\\.')}\\s+${USER}\\s+••••`));
    const json = await system.tapit('list', 'registries', '--json');
    expect(JSON.parse(json.stdout).items).toEqual([expect.objectContaining({ host: registry.host, username: USER, updatedBy: expect.any(String) })]);
    const audit = await system.tapit('list', 'audit', '--action', 'registry.set', '--json');
    expect(JSON.parse(audit.stdout).items.length).toBe(2);
    const answers = [list.stdout, json.stdout, audit.stdout, (await system.tapit('list', 'audit', '--json')).stdout, (await system.tapit('list', 'tasks', '--json')).stdout];
    for (const text of [...answers, system.output()]) expect(text).not.toContain(PASSWORD);

    const removed = await system.tapit('delete', 'registry', registry.host);
    expect(removed.code, removed.stderr).toBe(0);
    expect((await system.tapit('list', 'registries')).stdout).toContain('No registries in project default');
    const again = await system.tapit('delete', 'registry', registry.host);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain(`registry "${registry.host}" of project "default" not found`);
    const badHost = await system.tapit('create', 'registry', 'https://ghcr.io', 'username=x', 'password=y');
    expect(badHost.code).toBe(2);
    expect(badHost.stderr).toContain('Invalid registry host: must be a registry host, host[:port]');
  });
});
