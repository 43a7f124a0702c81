import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import type { TaskSpec } from '@tapit/protocol';
import { connectUrlFor, type AgentConfig } from '../config.js';

export const TEST_IMAGE = 'tapit-test/busybox:latest';

/** One id per test file: its containers carry `tapit.test=<id>` and only those are removed. */
export function testRunId(): string {
  return `t${randomBytes(6).toString('hex')}`;
}

export function taskId(): string {
  return randomBytes(16).toString('hex');
}

export function spec(runId: string, overrides: Partial<TaskSpec> & { script?: string } = {}): TaskSpec {
  const { script, ...rest } = overrides;
  return {
    taskId: taskId(),
    image: TEST_IMAGE,
    command: script !== undefined ? ['sh', '-c', script] : ['echo', 'hello'],
    entrypoint: null,
    env: {},
    kind: 'background',
    resources: { cpu: 0.5, memoryGb: 0.25, maxHours: null, ephemeralStorageGb: null },
    startedAt: null,
    labels: { 'tapit.test': runId },
    ...rest,
  };
}

export function agentConfig(schedulerUrl: string, runId: string, overrides: Partial<AgentConfig> = {}): AgentConfig {
  return {
    schedulerUrl,
    connectUrl: connectUrlFor(schedulerUrl),
    token: 'test-token',
    ca: undefined,
    name: `agent-${runId}`,
    labels: {},
    stateDir: mkdtempSync(join(tmpdir(), 'tapit-agent-')),
    network: 'none',
    cpu: undefined,
    memoryGb: undefined,
    pidsPerTask: undefined,
    stopGraceSeconds: 2,
    storageCheckMs: 300,
    spoolMemoryBytes: 32 * 1024 * 1024,
    consoleGraceSeconds: 900,
    engineCheckMs: 2000,
    engineWaitSeconds: 300,
    consoleKeepaliveMs: 15_000,
    dockerHost: undefined,
    ...overrides,
  };
}

/** Removes this test file's containers, and nobody else's. */
export async function removeTestContainers(runId: string): Promise<void> {
  const docker = new Docker();
  const list = await docker.listContainers({ all: true, filters: { label: [`tapit.test=${runId}`] } });
  await Promise.all(list.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
}

export async function containersOf(runId: string): Promise<Docker.ContainerInfo[]> {
  return new Docker().listContainers({ all: true, filters: { label: [`tapit.test=${runId}`] } });
}
