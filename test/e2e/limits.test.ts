import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CGROUP, limitsFrom, MIB, READ_LIMITS } from '../support/cgroup.js';
import { TEST_IMAGE } from '../support/agent.js';
import { buildImage, dockerResult, removeImages } from '../support/docker.js';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { appLines, idFrom, startSystem, type System } from '../support/system.js';

// Limits and stop reasons, enforced on the real Docker engine and reported through the real
// scheduler (on Postgres) to the real CLI.
let system: System;

beforeAll(async () => {
  system = await startSystem();
}, HOOK_TIMEOUT_MS);
afterAll(() => system?.stop(), HOOK_TIMEOUT_MS);

const why = () => system.output();
const stopped = (id: string, timeoutMs?: number) => system.waitForTask(id, (task) => task.status === 'STOPPED', timeoutMs);

describe(`resource limits inside the container (cgroup v${CGROUP})`, () => {
  it('memory=0.25 cpu=0.5 → a 256 MiB memory limit and half a CPU', async () => {
    const run = await system.tapit('create', 'task', READ_LIMITS, 'memory=0.25', 'cpu=0.5', '--wait');
    expect(run.code, `${run.stdout}\n${run.stderr}\n${why()}`).toBe(0);
    expect(limitsFrom(run.stdout)).toEqual({ memoryBytes: 256 * MIB, cpus: 0.5 });
  });

  it('SetOps task:run --memory 256 --cpu 512 → a 256 MiB memory limit and half a CPU', async () => {
    const run = await system.tapit('task:run', '--memory', '256', '--cpu', '512', '--', '/bin/sh', '-c', READ_LIMITS);
    expect(run.code, `${run.stdout}\n${run.stderr}\n${why()}`).toBe(0);
    expect(limitsFrom(run.stdout)).toEqual({ memoryBytes: 256 * MIB, cpus: 0.5 });
  });
});

describe('stop reasons', () => {
  it('a task over its memory is OOM_KILLED', async () => {
    const run = await system.tapit('create', 'task', 'echo start; s=x; while true; do s="$s$s"; done', 'memory=0.02', '--wait');
    const id = idFrom(run.stdout);
    expect(id, run.stderr).not.toBe('');
    expect(run.code).not.toBe(0);
    expect(appLines(run.stdout)).toContain('start');
    const shown = await system.tapit('show', 'task', `task=${id}`);
    expect(shown.stdout, why()).toMatch(/^Stop code:\s+OOM_KILLED/m);
    expect(await system.task(id)).toMatchObject({ status: 'STOPPED', stopCode: 'OOM_KILLED' });
  });

  it('a task past max_hours is TIMED_OUT (max_hours=0.0006 ≈ 2 s of sleep 60)', async () => {
    const run = await system.tapitWithin(55_000, 'create', 'task', 'echo sleeping; sleep 60', 'max_hours=0.0006', '--wait');
    const id = idFrom(run.stdout);
    expect(run.code, `${run.stdout}\n${run.stderr}\n${why()}`).not.toBe(0);
    const task = await system.task(id);
    expect(task).toMatchObject({ status: 'STOPPED', stopCode: 'TIMED_OUT' });
    expect(task.resources.maxHours).toBe(0.0006);
    // Stopped after about 2.2 s plus the agent's stop grace (10 s), long before the 60 s sleep ends.
    const ranMs = Date.parse(task.finishedAt!) - Date.parse(task.startedAt!);
    expect(ranMs).toBeGreaterThanOrEqual(2_000);
    expect(ranMs).toBeLessThan(30_000);
    expect((await system.tapit('show', 'task', `task=${id}`)).stdout).toMatch(/^Stop code:\s+TIMED_OUT/m);
  });

  it('task:stop on a running task → USER_STOPPED, stopped by the token that asked (bootstrap)', async () => {
    const created = await system.tapit('create', 'task', 'echo up; sleep 60');
    expect(created.code, created.stderr).toBe(0);
    const id = idFrom(created.stdout);
    const running = await system.waitForTask(id, (task) => task.status === 'RUNNING');
    expect(running.status, why()).toBe('RUNNING');

    const stop = await system.tapit('task:stop', id);
    expect(stop.code, stop.stderr).toBe(0);
    const task = await stopped(id);
    expect(task, why()).toMatchObject({ status: 'STOPPED', desiredStatus: 'STOPPED', stopCode: 'USER_STOPPED', stoppedBy: 'bootstrap' });
    expect(Date.parse(task.finishedAt!) - Date.parse(task.startedAt!)).toBeLessThan(30_000);
    expect((await system.tapit('show', 'task', `task=${id}`)).stdout).toMatch(/^Stop code:\s+USER_STOPPED.*\(by bootstrap\)$/m);
  });

  it('a task writing past ephemeral_storage_gb=0.01 is STORAGE_EXCEEDED', async () => {
    const run = await system.tapitWithin(55_000, 'create', 'task', 'dd if=/dev/zero of=/big bs=1M count=50; echo written; sleep 60', 'ephemeral_storage_gb=0.01', '--wait');
    const id = idFrom(run.stdout);
    expect(id, run.stderr).not.toBe('');
    expect(run.code).not.toBe(0);
    const task = await system.task(id);
    expect(task, why()).toMatchObject({ status: 'STOPPED', stopCode: 'STORAGE_EXCEEDED' });
    expect(task.resources.ephemeralStorageGb).toBe(0.01);
    expect(Date.parse(task.finishedAt!) - Date.parse(task.startedAt!)).toBeLessThan(40_000);
    expect((await system.tapit('show', 'task', `task=${id}`)).stdout).toMatch(/^Stop code:\s+STORAGE_EXCEEDED/m);
  });

  it('a missing image → FAILED_TO_START with the Docker engine’s message', async () => {
    const image = 'tapit-test/does-not-exist:1';
    // What the engine itself says when asked to pull it.
    const pull = await dockerResult('pull', image);
    expect(pull.code).not.toBe(0);
    const engine = pull.stderr.trim().replace(/^Error response from daemon: /, '');
    expect(engine.length).toBeGreaterThan(10);

    const run = await system.tapit('create', 'task', 'echo never', `image=${image}`, '--wait');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^Task stopped: FAILED_TO_START/m);
    const task = await system.task(idFrom(run.stdout));
    expect(task).toMatchObject({ status: 'STOPPED', stopCode: 'FAILED_TO_START', exitCode: null, image });
    expect(task.stopReason).toContain(engine);
    expect(appLines(run.stdout)).toEqual([]);
    expect((await system.tapit('show', 'task', `task=${task.id}`)).stdout).toMatch(/^Stop code:\s+FAILED_TO_START: .+/m);
  });
});

describe('what a container may do (issue 8)', () => {
  const volumeImage = `tapit-e2e/volume-${randomBytes(3).toString('hex')}:1`;
  beforeAll(() => buildImage(volumeImage, TEST_IMAGE, ['VOLUME /data']), HOOK_TIMEOUT_MS);
  afterAll(() => removeImages(volumeImage));

  it('an app created with read_only=true runs tasks that cannot write / but can write /tmp', async () => {
    const app = await system.tapit('create', 'app', 'locked', `image=${TEST_IMAGE}`, 'read_only=true');
    expect(app.code, app.stderr).toBe(0);
    const run = await system.tapit('create', 'task', 'touch /x 2>&1; touch /tmp/x && echo tmp-ok', '-a', 'locked', '--wait');
    expect(run.code, `${run.stdout}\n${run.stderr}\n${why()}`).toBe(0);
    expect(appLines(run.stdout)).toEqual(['touch: /x: Read-only file system', 'tmp-ok']);
  });

  it('an image VOLUME is within ephemeral_storage_gb: 80 MB into /data under 0.01 GB stops at the limit, and disk use says so', async () => {
    const run = await system.tapitWithin(55_000, 'create', 'task', 'dd if=/dev/zero of=/data/big bs=1M count=80 2>&1 | head -1; sleep 4', `image=${volumeImage}`, 'ephemeral_storage_gb=0.01', '--wait');
    const task = await system.task(idFrom(run.stdout));
    expect(appLines(run.stdout), why()).toContain("dd: error writing '/data/big': No space left on device");
    // Sampled while the task ran (it sleeps past the first sample), never understated.
    expect(task.usage.diskBytes).toBeGreaterThan(9 * MIB);
    expect(task.usage.diskBytes).toBeLessThanOrEqual(11 * MIB);
  });
});

