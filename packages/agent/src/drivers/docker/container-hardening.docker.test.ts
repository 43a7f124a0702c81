import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskSpec } from '@tapit/protocol';
import { startAgent, type RunningAgent } from '../../agent.js';
import { agentConfig, containersOf, removeTestContainers, spec, TEST_IMAGE, testRunId } from '../../testing/docker-fixtures.js';
import { FakeScheduler, waitFor } from '../../testing/fake-scheduler.js';
import { pidBudget } from './pid-budget.js';

// What a task's container may do, on the real engine: capabilities, process ids, where it can
// write and how much, and whom it can reach (issue 8, "Containers").
const runId = testRunId();
const docker = new Docker();
const project = `p-${runId}`;
const otherProject = `q-${runId}`;
/** An image declaring VOLUME /data, with a file in it (which a tmpfs over it does not show). */
const VOLUME_IMAGE = `tapit-test/volume-${runId}:latest`;
const MIB = 1024 * 1024;
let scheduler: FakeScheduler;
let agent: RunningAgent;

beforeAll(async () => {
  const seed = await docker.createContainer({ Image: TEST_IMAGE, Cmd: ['sh', '-c', 'mkdir /data && echo shipped > /data/shipped'], Labels: { 'tapit.test': runId } });
  await seed.start();
  await seed.wait();
  await seed.commit({ repo: `tapit-test/volume-${runId}`, tag: 'latest', changes: ['VOLUME /data', 'CMD ["/bin/sh"]'] });
  await seed.remove();
  scheduler = new FakeScheduler({ heartbeatIntervalMs: 1000 });
  // `bridge`: the mode under which each project gets a network of its own.
  agent = await startAgent(agentConfig(await scheduler.listen(), runId, { network: 'bridge' }));
  await waitFor('hello', () => scheduler.hellos.length > 0);
});

afterAll(async () => {
  await agent?.stop();
  await scheduler?.close();
  await removeTestContainers(runId);
  await docker.getImage(VOLUME_IMAGE).remove({ force: true }).catch(() => undefined);
  const networks = await docker.listNetworks({ filters: { label: [`tapit.agent=agent-${runId}`] } });
  await Promise.all(networks.map((n) => docker.getNetwork(n.Id).remove().catch(() => undefined)));
});

function task(script: string, overrides: Partial<TaskSpec> = {}): TaskSpec {
  return spec(runId, { script, project, ...overrides });
}

async function run(t: TaskSpec, timeoutMs = 60_000) {
  scheduler.assign(t);
  return waitFor(`exit of ${t.taskId}`, () => scheduler.exits.get(t.taskId), timeoutMs);
}

async function containerOf(taskId: string): Promise<Docker.ContainerInspectInfo> {
  const id = await waitFor('container', async () => (await containersOf(runId)).find((c) => c.Labels['tapit.task-id'] === taskId)?.Id);
  return docker.getContainer(id).inspect();
}

const resources = (ephemeralStorageGb: number | null) => ({ cpu: 0.5, memoryGb: 0.25, maxHours: null, ephemeralStorageGb });

describe('capabilities', () => {
  it('drops all but CHOWN, DAC_OVERRIDE, FOWNER, KILL, NET_BIND_SERVICE, SETGID and SETUID, even for root', async () => {
    const t = task("grep -E '^Cap(Bnd|Eff)' /proc/self/status; mknod /tmp/dev c 1 3 && echo mknod-allowed; id -u");
    expect(await run(t)).toMatchObject({ stopCode: 'EXITED' });
    // Bits 0, 1, 3, 5, 6, 7 and 10; Docker's default set is 00000000a80425fb.
    expect(scheduler.lines(t.taskId, 'stdout')).toEqual(['CapEff:\t00000000000004eb', 'CapBnd:\t00000000000004eb', '0']);
    expect(scheduler.lines(t.taskId, 'stderr').join('\n')).toMatch(/mknod.*Operation not permitted/);
  });
});

describe('process ids', () => {
  it('limits each task to 1024, and offers only as many tasks at once as fit in half of pid_max', async () => {
    const { pidsPerTask, maxTasks, pidMax } = pidBudget(1024);
    expect(pidsPerTask * maxTasks).toBeLessThanOrEqual(pidMax / 2);
    expect(scheduler.hellos[0]!.capacity.maxTasks).toBe(maxTasks);
    const t = task('cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max; sleep 1');
    scheduler.assign(t);
    expect((await containerOf(t.taskId)).HostConfig.PidsLimit).toBe(pidsPerTask);
    await waitFor('exit', () => scheduler.exits.get(t.taskId));
    expect(scheduler.lines(t.taskId, 'stdout')).toEqual([String(pidsPerTask)]);
  });

  it('holds a fork bomb inside its limit', async () => {
    const other = new FakeScheduler({ heartbeatIntervalMs: 1000 });
    const small = await startAgent(agentConfig(await other.listen(), runId, { name: `agent-${runId}-small`, pidsPerTask: 64 }));
    try {
      await waitFor('hello', () => other.hellos.length > 0);
      // The bomb in a subshell, which dies at the limit; counted with builtins (nothing forks then).
      const t = spec(runId, { script: '(n=0; while [ $n -lt 150 ]; do sleep 30 & n=$((n+1)); done); c=0; for p in /proc/[0-9]*; do c=$((c+1)); done; echo procs=$c' });
      other.assign(t);
      await waitFor('procs counted', () => other.lines(t.taskId, 'stdout').some((l) => l.startsWith('procs=')), 60_000);
      const procs = Number(other.lines(t.taskId, 'stdout').find((l) => l.startsWith('procs='))!.slice('procs='.length));
      expect(procs).toBeGreaterThan(32);
      expect(procs).toBeLessThanOrEqual(64);
      expect(other.lines(t.taskId, 'stderr').join('\n')).toMatch(/can't fork/);
      other.send({ type: 'task.stop', taskId: t.taskId, stopCode: 'USER_STOPPED', reason: 'enough', graceSeconds: 0 });
      await waitFor('exit', () => other.exits.get(t.taskId), 60_000);
    } finally {
      await small.stop();
      await other.close();
    }
  });

  it('runs at most maxTasks tasks at once, even if assigned more', async () => {
    const other = new FakeScheduler({ heartbeatIntervalMs: 1000 });
    // Half the host's pid_max per task: room for one task only.
    const oneSlot = await startAgent(agentConfig(await other.listen(), runId, { name: `agent-${runId}-one`, pidsPerTask: Math.floor(pidBudget(1).pidMax / 2) }));
    try {
      await waitFor('hello', () => other.hellos.length > 0);
      expect(other.hellos[0]!.capacity.maxTasks).toBe(1);
      const first = spec(runId, { script: 'echo first; sleep 30' });
      const second = spec(runId, { script: 'echo second' });
      other.assign(first);
      await waitFor('first runs', () => other.lines(first.taskId, 'stdout').includes('first'));
      other.assign(second);
      const exit = await waitFor('second refused', () => other.exits.get(second.taskId));
      expect(exit).toMatchObject({ stopCode: 'FAILED_TO_START', exitCode: null });
      expect(exit.reason).toMatch(/already runs 1 tasks, its most at once/);
      other.send({ type: 'task.stop', taskId: first.taskId, stopCode: 'USER_STOPPED', reason: 'enough', graceSeconds: 0 });
      await waitFor('first exit', () => other.exits.get(first.taskId), 60_000);
      const third = spec(runId, { script: 'echo third' });
      other.assign(third);
      expect(await waitFor('third exit', () => other.exits.get(third.taskId))).toMatchObject({ stopCode: 'EXITED', exitCode: 0 });
    } finally {
      await oneSlot.stop();
      await other.close();
    }
  });
});

describe('storage', () => {
  it('an image VOLUME is within ephemeral_storage_gb: 80 MB into /data with a 10 MB limit stops at the limit, and diskBytes says so', async () => {
    const t = task('cat /data/shipped 2>&1; dd if=/dev/zero of=/data/big bs=1M count=80; echo dd=$?; sleep 4', {
      image: VOLUME_IMAGE,
      resources: resources(0.01),
    });
    const exit = await run(t);
    const limit = Math.floor(0.01 * 1024 ** 3);
    expect(scheduler.lines(t.taskId, 'stdout')).toContain('dd=1');
    expect(scheduler.lines(t.taskId, 'stderr').join('\n')).toMatch(/No space left on device/);
    // Honest: what the task wrote to its volume counts (it was 0 when the volume was Docker's);
    // read from the cgroup's samples taken while the task ran (it sleeps past the first).
    expect(exit.usage.diskBytes).toBeGreaterThan(limit - 1 * MIB);
    expect(exit.usage.diskBytes).toBeLessThanOrEqual(limit + 1 * MIB);
    // A full volume is at the limit: the next measurement may or may not find it just over.
    expect(['EXITED', 'STORAGE_EXCEEDED']).toContain(exit.stopCode);
  });

  it('the writable layer and the volumes count together: 6 MB in each, over a 10 MB limit, is STORAGE_EXCEEDED', async () => {
    const t = task('dd if=/dev/zero of=/data/a bs=1M count=6 2>/dev/null; dd if=/dev/zero of=/b bs=1M count=6 2>/dev/null; echo written; sleep 30', {
      image: VOLUME_IMAGE,
      resources: resources(0.01),
    });
    const exit = await run(t);
    expect(exit.stopCode).toBe('STORAGE_EXCEEDED');
    expect(exit.usage.diskBytes).toBeGreaterThan(11 * MIB);
  });

  it('a volume is a tmpfs of the task, not a Docker volume left on the host', async () => {
    const t = task('echo up; sleep 30', { image: VOLUME_IMAGE, resources: resources(null) });
    scheduler.assign(t);
    await waitFor('up', () => scheduler.lines(t.taskId, 'stdout').includes('up'));
    const info = await containerOf(t.taskId);
    expect(info.Mounts.map((m) => ({ type: m.Type, at: m.Destination }))).toEqual([{ type: 'tmpfs', at: '/data' }]);
    scheduler.send({ type: 'task.stop', taskId: t.taskId, stopCode: 'USER_STOPPED', reason: 'enough', graceSeconds: 0 });
    await waitFor('exit', () => scheduler.exits.get(t.taskId), 60_000);
  });
});

describe('read_only', () => {
  it('mounts the root filesystem read-only, with a writable /tmp within the storage limit', async () => {
    const t = task(
      'touch /written 2>&1; touch /tmp/written && echo tmp-ok; dd if=/dev/zero of=/tmp/big bs=1M count=40 2>/dev/null; echo dd=$?; df -k /tmp | tail -1',
      { readOnly: true, resources: resources(0.02) },
    );
    expect(await run(t)).toMatchObject({ stopCode: 'EXITED' });
    const out = scheduler.lines(t.taskId, 'stdout');
    expect(out.join('\n')).toMatch(/touch: \/written: Read-only file system/);
    expect(out).toContain('tmp-ok');
    expect(out).toContain('dd=1');
    // df's 1K-blocks of the tmpfs: the limit, in whole pages.
    expect(Number(out.at(-1)!.split(/\s+/)[1])).toBe(Math.floor((0.02 * 1024 ** 3) / 4096) * 4);
  });

  it('leaves the root filesystem writable by default', async () => {
    const t = task('touch /written && echo root-ok');
    expect(await run(t)).toMatchObject({ stopCode: 'EXITED', exitCode: 0 });
    expect(scheduler.lines(t.taskId, 'stdout')).toEqual(['root-ok']);
  });
});

describe('networks', () => {
  it('on bridge, puts each project on its own network: names resolve within it, not across', async () => {
    const server = task('echo up; sleep 30');
    scheduler.assign(server);
    await waitFor('up', () => scheduler.lines(server.taskId, 'stdout').includes('up'));
    const info = await containerOf(server.taskId);
    expect(info.HostConfig.NetworkMode).toBe(`tapit-p-${project}`);
    expect(Object.keys(info.NetworkSettings.Networks)).toEqual([`tapit-p-${project}`]);
    const network = await docker.getNetwork(`tapit-p-${project}`).inspect();
    expect(network).toMatchObject({ Driver: 'bridge', Labels: { 'tapit.agent': `agent-${runId}`, 'tapit.project': project } });

    const lookup = `nslookup tapit-${server.taskId} >/dev/null 2>&1 && echo found || echo not-found`;
    const sameProject = task(lookup);
    const otherProjects = task(lookup, { project: otherProject });
    const [same, other] = await Promise.all([run(sameProject), run(otherProjects)]);
    expect([same.stopCode, other.stopCode]).toEqual(['EXITED', 'EXITED']);
    expect(scheduler.lines(sameProject.taskId, 'stdout')).toEqual(['found']);
    expect(scheduler.lines(otherProjects.taskId, 'stdout')).toEqual(['not-found']);
    expect((await docker.getNetwork(`tapit-p-${otherProject}`).inspect()).Labels).toMatchObject({ 'tapit.project': otherProject });
    scheduler.send({ type: 'task.stop', taskId: server.taskId, stopCode: 'USER_STOPPED', reason: 'enough', graceSeconds: 0 });
    await waitFor('exit', () => scheduler.exits.get(server.taskId), 60_000);
  });

  it('two tasks of a new project starting together create its network once', async () => {
    const fresh = `r-${runId}`;
    const tasks = [task('echo a', { project: fresh }), task('echo b', { project: fresh }), task('echo c', { project: fresh })];
    const exits = await Promise.all(tasks.map((t) => run(t)));
    expect(exits.map((e) => e.stopCode)).toEqual(['EXITED', 'EXITED', 'EXITED']);
    expect(await docker.listNetworks({ filters: { name: [`tapit-p-${fresh}`] } })).toHaveLength(1);
  });
});
