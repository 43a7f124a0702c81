import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spec, TEST_IMAGE, testRunId } from '../../testing/docker-fixtures.js';
import { waitFor } from '../../testing/fake-scheduler.js';
import { DockerDriver } from './docker-driver.js';

// A private Docker engine with subnets for four networks only (the shared engine must not run
// out of them): a network per project must not make the fifth project's tasks fail.
const runId = testRunId();
const dir = mkdtempSync(join(tmpdir(), 'tapit-dockerd-'));
const socketPath = join(dir, 'docker.sock');
let dockerd: ChildProcess;
let docker: Docker;
let driver: DockerDriver;
const hooks = { onSystemLine: () => undefined, onCreated: () => undefined };

beforeAll(async () => {
  dockerd = spawn(
    'dockerd',
    ['-H', `unix://${socketPath}`, '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'docker.pid'),
      '--bridge=none', '--iptables=false', '--ip6tables=false', '--default-address-pool', `base=10.213.${Math.floor(Math.random() * 250)}.0/24,size=26`],
    { stdio: 'ignore' },
  );
  docker = new Docker({ socketPath });
  await waitFor('private engine', () => docker.ping().then(() => true, () => false), 60_000);
  execFileSync('sh', ['-c', `docker save ${TEST_IMAGE} | docker -H unix://${socketPath} load`], { stdio: 'ignore' });
  driver = new DockerDriver({ agentName: `agent-${runId}`, network: 'bridge', docker });
});

afterAll(async () => {
  if (dockerd?.exitCode === null) {
    const containers = await docker.listContainers({ all: true }).catch(() => []);
    await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
    // Its bridges would outlive it on the host: remove its networks while it can.
    const networks = await docker.listNetworks({ filters: { label: [`tapit.agent=agent-${runId}`] } }).catch(() => []);
    await Promise.all(networks.map((n) => docker.getNetwork(n.Id).remove().catch(() => undefined)));
    dockerd.kill('SIGTERM');
    await new Promise((r) => dockerd.once('exit', r));
  }
  rmSync(dir, { recursive: true, force: true });
});

async function runTask(project: string, script: string) {
  const task = await driver.start(spec(runId, { script, project }), hooks);
  return task;
}

describe('networks per project when the engine runs out of subnets', () => {
  it('removes this agent\'s unused project networks to make room, never one a container names', async () => {
    // Holds its network for the whole test: a running container.
    const kept = await runTask('kept', 'sleep 60');
    for (const project of ['one', 'two', 'three', 'four', 'five']) {
      const task = await runTask(project, 'echo ran');
      expect((await task.wait()).exitCode).toBe(0);
      await task.destroy();
    }
    const names = (await docker.listNetworks({ filters: { label: [`tapit.agent=agent-${runId}`] } })).map((n) => n.Name);
    expect(names).toContain('tapit-p-kept');
    expect(names).toContain('tapit-p-five');
    expect(names.length).toBeLessThanOrEqual(4);
    await kept.stop(0);
    await kept.destroy();
  });
});
