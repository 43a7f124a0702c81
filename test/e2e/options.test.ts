import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_IMAGE } from '../support/agent.js';
import { limitsFrom, MIB, READ_LIMITS } from '../support/cgroup.js';
import { buildImage, docker, removeImages } from '../support/docker.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { appLines, idFrom, startSystem, type System } from '../support/system.js';

// Every SetOps task:run flag and every tapit create task key, each shown to do what it says in
// the container that ran. Images: local variants of the test image that say which one they are
// (ENV VARIANT), some pushed to a docker-registry of our own on 127.0.0.1 and removed locally so
// the agent has to pull them.
let system: System;
let registry: RunningRegistry;
const suffix = randomBytes(3).toString('hex');
const LOCAL = (variant: string) => `tapit-e2e/variant-${suffix}:${variant}`;
let DEMO_V1 = '';
let DEMO_V2 = '';
let OTHER = '';
const created: string[] = [];

beforeAll(async () => {
  registry = await startRegistry();
  for (const variant of ['one', 'two', 'other']) {
    created.push(LOCAL(variant));
    await buildImage(LOCAL(variant), TEST_IMAGE, [`ENV VARIANT=${variant}`]);
  }
  DEMO_V1 = `${registry.host}/demo-${suffix}:v1`;
  DEMO_V2 = `${registry.host}/demo-${suffix}:v2`;
  OTHER = `${registry.host}/other-${suffix}:latest`;
  for (const [local, remote] of [[LOCAL('one'), DEMO_V1], [LOCAL('two'), DEMO_V2], [LOCAL('other'), OTHER]] as const) {
    created.push(remote);
    await docker('tag', local, remote);
    await docker('push', '-q', remote);
    // Gone from the engine: a task on it has to pull it from the registry.
    await docker('image', 'rm', remote);
  }
  system = await startSystem();
  const setup = [
    ['create', 'app', 'rel', `image=${LOCAL('one')}`],
    ['create', 'release', `image=${LOCAL('two')}`, '-a', 'rel'],
    ['create', 'app', 'demo', `image=${DEMO_V1}`],
  ];
  for (const args of setup) {
    const result = await system.tapit(...args);
    if (result.code !== 0) throw new Error(`tapit ${args.join(' ')}: ${result.stderr}`);
  }
}, HOOK_TIMEOUT_MS);
afterAll(async () => {
  await system?.stop();
  await registry?.stop();
  await removeImages(...created);
}, HOOK_TIMEOUT_MS);

const why = () => system.output();
const stopped = (id: string, timeoutMs?: number) => system.waitForTask(id, (task) => task.status === 'STOPPED', timeoutMs);
const PRINT_VARIANT = 'echo variant=$VARIANT';

describe('SetOps task:run flags', () => {
  it('--release N runs that release’s image; without it the active release', async () => {
    const old = await system.tapit('task:run', '-a', 'rel', '--release', '1', '--', '/bin/sh', '-c', PRINT_VARIANT);
    expect(old.code, `${old.stderr}\n${why()}`).toBe(0);
    expect(appLines(old.stdout)).toEqual(['variant=one']);
    expect(await system.task(idFrom(old.stdout))).toMatchObject({ release: 1, image: LOCAL('one') });

    const active = await system.tapit('task:run', '-a', 'rel', '--', '/bin/sh', '-c', PRINT_VARIANT);
    expect(active.code, active.stderr).toBe(0);
    expect(appLines(active.stdout)).toEqual(['variant=two']);
    expect(await system.task(idFrom(active.stdout))).toMatchObject({ release: 2, image: LOCAL('two') });
  });

  it('--cpu 768 (CPU units) → 0.75 vCPU in the container; memory stays the app default (0.5 GB)', async () => {
    const run = await system.tapit('task:run', '--cpu', '768', '--', '/bin/sh', '-c', READ_LIMITS);
    expect(run.code, `${run.stderr}\n${why()}`).toBe(0);
    expect(limitsFrom(run.stdout)).toEqual({ memoryBytes: 512 * MIB, cpus: 0.75 });
    expect((await system.task(idFrom(run.stdout))).resources).toMatchObject({ cpu: 0.75, memoryGb: 0.5 });
  });

  it('--memory 128 (MiB) → a 128 MiB limit in the container; CPU stays the app default (0.25)', async () => {
    const run = await system.tapit('task:run', '--memory', '128', '--', '/bin/sh', '-c', READ_LIMITS);
    expect(run.code, `${run.stderr}\n${why()}`).toBe(0);
    expect(limitsFrom(run.stdout)).toEqual({ memoryBytes: 128 * MIB, cpus: 0.25 });
    expect((await system.task(idFrom(run.stdout))).resources).toMatchObject({ cpu: 0.25, memoryGb: 0.125 });
  });

  it('--entrypoint "/bin/echo,from-entrypoint" -- x prints "from-entrypoint x"', async () => {
    const run = await system.tapit('task:run', '--entrypoint', '/bin/echo,from-entrypoint', '--', 'x');
    expect(run.code, `${run.stderr}\n${why()}`).toBe(0);
    expect(appLines(run.stdout)).toEqual(['from-entrypoint x']);
    expect(await system.task(idFrom(run.stdout))).toMatchObject({ entrypoint: ['/bin/echo', 'from-entrypoint'], command: ['x'] });
  });

  it('--detached returns at once with the id; the task finishes later on its own', async () => {
    const started = Date.now();
    const run = await system.tapit('task:run', '--detached', '--', '/bin/sh', '-c', 'sleep 6; echo detached-done; exit 4');
    const tookMs = Date.now() - started;
    expect(run.code, run.stderr).toBe(0);
    const id = idFrom(run.stdout);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(tookMs).toBeLessThan(5_000);
    expect(appLines(run.stdout)).toEqual([]);
    expect((await system.task(id)).status).not.toBe('STOPPED');

    const task = await stopped(id);
    expect(task, why()).toMatchObject({ status: 'STOPPED', stopCode: 'EXITED', exitCode: 4 });
    expect((await system.logs(id)).filter((l) => l.stream !== 'system').map((l) => l.text)).toEqual(['detached-done']);
  });
});

describe('tapit create task keys', () => {
  it('memory=0.125 → a 128 MiB limit in the container', async () => {
    const run = await system.tapit('create', 'task', READ_LIMITS, 'memory=0.125', '--wait');
    expect(run.code, `${run.stderr}\n${why()}`).toBe(0);
    expect(limitsFrom(run.stdout)).toEqual({ memoryBytes: 128 * MIB, cpus: 0.25 });
  });

  it('cpu=0.75 → 0.75 vCPU in the container', async () => {
    const run = await system.tapit('create', 'task', READ_LIMITS, 'cpu=0.75', '--wait');
    expect(run.code, `${run.stderr}\n${why()}`).toBe(0);
    expect(limitsFrom(run.stdout)).toEqual({ memoryBytes: 512 * MIB, cpus: 0.75 });
  });

  it('docker_tag=v2 replaces the tag of the app image (pulled from the registry)', async () => {
    const run = await system.tapitWithin(45_000, 'create', 'task', PRINT_VARIANT, 'docker_tag=v2', '-a', 'demo', '--wait');
    expect(run.code, `${run.stdout}\n${run.stderr}\n${why()}`).toBe(0);
    expect(appLines(run.stdout)).toEqual(['variant=two']);
    expect(run.stdout).toMatch(new RegExp(`\\[system\\] Pulling image ${DEMO_V2.replace(/[.]/g, '\\.')}$`, 'm'));
    const task = await system.task(idFrom(run.stdout));
    expect(task.image).toBe(DEMO_V2);

    // Without it, the app image's own tag.
    const plain = await system.tapitWithin(45_000, 'create', 'task', PRINT_VARIANT, '-a', 'demo', '--wait');
    expect(plain.code, plain.stderr).toBe(0);
    expect(appLines(plain.stdout)).toEqual(['variant=one']);
    expect((await system.task(idFrom(plain.stdout))).image).toBe(DEMO_V1);
    // The exact image that ran, as PRODUCT.md asks: the digest the agent resolved after the pull.
    expect(task.imageDigest, 'imageDigest of the docker_tag=v2 task').toMatch(/@sha256:[0-9a-f]{64}$/);
  });

  it('image= runs another image than the app’s, pulled from the registry with its progress as [system] lines', async () => {
    const run = await system.tapitWithin(45_000, 'create', 'task', PRINT_VARIANT, `image=${OTHER}`, '--wait');
    expect(run.code, `${run.stdout}\n${run.stderr}\n${why()}`).toBe(0);
    expect(appLines(run.stdout)).toEqual(['variant=other']);
    const system_ = run.stdout.split('\n').filter((line) => / \[system\] /.test(line));
    const pulling = system_.findIndex((line) => line.endsWith(`[system] Pulling image ${OTHER}`));
    expect(pulling, run.stdout).toBeGreaterThanOrEqual(0);
    // The engine's own progress steps follow, ending with its summary.
    expect(system_.some((line) => line.endsWith(`[system] Status: Downloaded newer image for ${OTHER}`)), run.stdout).toBe(true);
    const task = await system.task(idFrom(run.stdout));
    expect(task).toMatchObject({ image: OTHER, stopCode: 'EXITED', exitCode: 0 });
    // The exact image that ran, as PRODUCT.md asks: the digest the agent resolved after the pull.
    expect(task.imageDigest, 'imageDigest of the image= task').toMatch(/@sha256:[0-9a-f]{64}$/);
  });

  it('max_hours=0.001 (3.6 s) sends the task SIGTERM at its deadline → TIMED_OUT', async () => {
    const script = "trap 'echo got TERM; exit 143' TERM; i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.5; done";
    const run = await system.tapitWithin(45_000, 'create', 'task', script, 'max_hours=0.001', '--wait');
    const id = idFrom(run.stdout);
    expect(run.code, `${run.stderr}\n${why()}`).not.toBe(0);
    const task = await system.task(id);
    expect(task).toMatchObject({ status: 'STOPPED', stopCode: 'TIMED_OUT' });
    expect(task.resources.maxHours).toBe(0.001);
    const ranMs = Date.parse(task.finishedAt!) - Date.parse(task.startedAt!);
    expect(ranMs).toBeGreaterThanOrEqual(3_500);
    // SIGTERM at the deadline, which the trap answers at once: well before the 10 s kill grace.
    expect(ranMs).toBeLessThan(8_000);
    const lines = appLines(run.stdout);
    expect(lines.at(-1)).toBe('got TERM');
    expect(lines.length).toBeGreaterThanOrEqual(6);
    expect(lines.length).toBeLessThanOrEqual(12);
  });

  it('initiated_by=deploy-bot is recorded and shown by show task', async () => {
    const run = await system.tapit('create', 'task', 'echo hi', 'initiated_by=deploy-bot', '--wait');
    expect(run.code, run.stderr).toBe(0);
    const id = idFrom(run.stdout);
    expect(await system.task(id)).toMatchObject({ initiatedBy: 'deploy-bot', createdBy: 'bootstrap' });
    const shown = await system.tapit('show', 'task', `task=${id}`);
    expect(shown.stdout).toMatch(/^Created:\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d by bootstrap \(initiated by deploy-bot\)$/m);
    const plain = await system.tapit('create', 'task', 'echo hi', '--wait');
    expect((await system.task(idFrom(plain.stdout))).initiatedBy).toBeNull();
  });

  it('ephemeral_storage_gb: 20 MB written under 0.05 GB runs to its end; over 0.01 GB it is STORAGE_EXCEEDED', async () => {
    const write = 'dd if=/dev/zero of=/data bs=1M count=20 2>/dev/null; echo written';
    const under = idFrom((await system.tapit('create', 'task', `${write}; sleep 7; echo kept`, 'ephemeral_storage_gb=0.05')).stdout);
    const over = idFrom((await system.tapit('create', 'task', `${write}; sleep 40; echo kept`, 'ephemeral_storage_gb=0.01')).stdout);
    const [underTask, overTask] = await Promise.all([stopped(under, 50_000), stopped(over, 50_000)]);
    expect(underTask, why()).toMatchObject({ status: 'STOPPED', stopCode: 'EXITED', exitCode: 0 });
    expect(underTask.resources.ephemeralStorageGb).toBe(0.05);
    expect((await system.logs(under)).filter((l) => l.stream !== 'system').map((l) => l.text)).toEqual(['written', 'kept']);
    expect(overTask, why()).toMatchObject({ status: 'STOPPED', stopCode: 'STORAGE_EXCEEDED' });
    expect((await system.logs(over)).filter((l) => l.stream !== 'system').map((l) => l.text)).toEqual(['written']);
    expect((await system.tapit('show', 'task', `task=${over}`)).stdout).toMatch(/^Ephemeral storage:\s+0.01 GB$/m);
  });
});
