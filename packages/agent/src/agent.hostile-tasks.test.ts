import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containersOf, removeTestContainers, spec, taskId, TEST_IMAGE, testRunId } from './testing/docker-fixtures.js';
import { FakeScheduler, waitFor } from './testing/fake-scheduler.js';

// What one task can do to the agent process running it (issue 8): the built agent as a child
// process, the real Docker engine, a fake scheduler.
const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const runId = testRunId();
const agentName = `agent-${runId}`;
const children: (ChildProcess & { output: string[] })[] = [];
let scheduler: FakeScheduler;
let url: string;

// The built agent (`npm run build`, which Nx runs before the tests): built here again, in place,
// it was rewritten under agents the other Node line's whole-system tests were starting (CI's two
// lines run side by side), which then failed to load a half-written module.
beforeAll(async () => {
  scheduler = new FakeScheduler({ heartbeatIntervalMs: 1000 });
  url = await scheduler.listen();
});

afterAll(async () => {
  if (process.env.TAPIT_TEST_AGENT_LOGS) for (const child of children) process.stderr.write(child.output.join(''));
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await scheduler?.close();
  await removeTestContainers(runId);
});

/** The built agent; `umask` sets the one it starts with (the test process's otherwise). */
function startAgent(stateDir: string, { name = agentName, umask }: { name?: string; umask?: string } = {}): ChildProcess & { output: string[] } {
  const command = umask === undefined ? [process.execPath, 'bin/tapit-agent.js'] : ['/bin/sh', '-c', `umask ${umask} && exec "$0" bin/tapit-agent.js`, process.execPath];
  const child = spawn(command[0]!, command.slice(1), {
    cwd: packageDir,
    env: {
      ...process.env,
      TAPIT_AGENT_QUIET: '0',
      TAPIT_SCHEDULER_URL: url,
      TAPIT_AGENT_TOKEN: 'test-token',
      TAPIT_AGENT_NAME: name,
      TAPIT_AGENT_STATE_DIR: stateDir,
      TAPIT_AGENT_NETWORK: 'none',
      TAPIT_AGENT_STOP_GRACE_SECONDS: '2',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  }) as ChildProcess & { output: string[] };
  child.output = [];
  child.stderr!.on('data', (d: Buffer) => child.output.push(d.toString()));
  children.push(child);
  return child;
}

const exited = (child: ChildProcess) => new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', (code) => r(code))));

/** The exit code, or 'running' if the agent is still up after `ms`. */
const exitedWithin = (child: ChildProcess, ms: number) => Promise.race([exited(child), new Promise<'running'>((r) => setTimeout(() => r('running'), ms))]);

/** Fails at once, with what it printed, if the agent process is gone. */
function alive(child: ChildProcess & { output: string[] }): void {
  if (child.exitCode !== null || child.signalCode !== null) {
    throw new Error(`the agent exited (${child.exitCode ?? child.signalCode}):\n${child.output.join('').slice(-3000)}`);
  }
}

async function startConnected(stateDir: string, options: { name?: string; umask?: string } = {}): Promise<ChildProcess & { output: string[] }> {
  const hellos = scheduler.hellos.length;
  const child = startAgent(stateDir, options);
  await waitFor('hello of the new agent', () => (alive(child), scheduler.hellos.length > hellos));
  return child;
}

async function exitOf(child: ChildProcess & { output: string[] }, id: string, timeoutMs = 60_000) {
  return waitFor(`exit of ${id}`, () => (alive(child), scheduler.exits.get(id)), timeoutMs);
}

function freshStateDir(): string {
  return mkdtempSync(join(tmpdir(), 'tapit-agent-'));
}

describe('a task cannot end the agent', () => {
  let agent: ChildProcess & { output: string[] };
  beforeAll(async () => {
    agent = await startConnected(freshStateDir());
  });
  afterAll(async () => {
    agent?.kill('SIGTERM');
    if (agent) await exited(agent);
  });

  it('an image "a/../b" (the engine answers with a redirect) fails that task to start; the agent runs the next one', async () => {
    const bad = spec(runId, { image: 'a/../b' });
    scheduler.assign(bad);
    const exit = await exitOf(agent, bad.taskId);
    expect(exit).toMatchObject({ stopCode: 'FAILED_TO_START', exitCode: null });
    expect(exit.reason).toMatch(/"\.\." is not a valid part of an image name/);
    expect(scheduler.lines(bad.taskId, 'system').some((l) => l.startsWith('Failed to start:'))).toBe(true);
    const good = spec(runId, { script: 'echo still-here' });
    scheduler.assign(good);
    expect(await exitOf(agent, good.taskId)).toMatchObject({ stopCode: 'EXITED', exitCode: 0 });
    expect(scheduler.lines(good.taskId, 'stdout')).toEqual(['still-here']);
  });

  it('an image naming another host and port never makes the agent connect there', async () => {
    const connections: string[] = [];
    const target: Server = createServer((socket) => {
      socket.once('data', (d) => connections.push(d.toString().split('\r\n')[0]!));
      socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}');
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    try {
      const port = (target.address() as AddressInfo).port;
      const task = spec(runId, { image: `a/../../127.0.0.1:${port}/path` });
      scheduler.assign(task);
      const exit = await exitOf(agent, task.taskId);
      expect(exit.stopCode).toBe('FAILED_TO_START');
      await new Promise((r) => setTimeout(r, 500));
      expect(connections).toEqual([]);
    } finally {
      target.close();
    }
  });
});

describe('a task cannot end the agent\'s recovery', () => {
  const docker = new Docker();
  const name = `${agentName}-recovery`;

  /** A container as a killed agent leaves it: created, never started; its command does not exist. */
  async function leftCreated(id: string): Promise<string> {
    const container = await docker.createContainer({
      name: `tapit-${id}`,
      Image: TEST_IMAGE,
      Cmd: ['/no/such/executable'],
      Labels: { 'tapit.test': runId, 'tapit.task-id': id, 'tapit.agent': name },
      HostConfig: { NetworkMode: 'none' },
    });
    return container.id;
  }

  it('a container left created whose start fails is that task\'s FAILED_TO_START; the agent starts, every time', async () => {
    const stateDir = freshStateDir();
    // One the agent holds a handle for (it died between create and start), one it only finds by label.
    const withHandle = spec(runId, { command: ['/no/such/executable'] });
    const containerId = await leftCreated(withHandle.taskId);
    const record = {
      version: 1,
      taskId: withHandle.taskId,
      spec: withHandle,
      limits: { maxHours: null, ephemeralStorageGb: null },
      handle: { driver: 'docker', version: 1, containerId },
      state: 'pending',
      stop: null,
      exit: null,
    };
    writeFileSync(join(stateDir, `${withHandle.taskId}.json`), JSON.stringify(record), { mode: 0o600 });
    const byLabel = taskId();
    await leftCreated(byLabel);

    const agent = await startConnected(stateDir, { name });
    for (const id of [withHandle.taskId, byLabel]) {
      const exit = await exitOf(agent, id);
      expect(exit).toMatchObject({ stopCode: 'FAILED_TO_START', exitCode: null });
      expect(exit.reason).toMatch(/no such file or directory/i);
    }
    await waitFor('containers removed', async () => (await containersOf(runId)).every((c) => ![withHandle.taskId, byLabel].includes(c.Labels['tapit.task-id']!)), 20_000);
    const good = spec(runId, { script: 'echo recovered' });
    scheduler.assign(good);
    expect(await exitOf(agent, good.taskId)).toMatchObject({ stopCode: 'EXITED', exitCode: 0 });
    agent.kill('SIGTERM');
    expect(await exited(agent)).toBe(0);
  });
});

describe('the state folder', () => {
  it.each([0o755, 0o750, 0o701])('is refused with mode %o, saying how to fix it (exit code 2)', async (mode) => {
    const stateDir = freshStateDir();
    chmodSync(stateDir, mode);
    const agent = startAgent(stateDir);
    expect(await exitedWithin(agent, 15_000)).toBe(2);
    const printed = agent.output.join('');
    expect(printed.trim().split('\n')).toHaveLength(1);
    expect(printed).toContain(`TAPIT_AGENT_STATE_DIR: ${stateDir} can be read or entered by other users`);
    expect(printed).toContain(`chmod 700 ${stateDir}`);
  });

  it('holds only files of mode 0600 in a folder of mode 0700, whatever the umask', async () => {
    const stateDir = join(freshStateDir(), 'state'); // created by the agent
    const agent = await startConnected(stateDir, { umask: '000' });
    scheduler.autoAck = false; // keep the task and its spool on disk while we look
    try {
      const background = spec(runId, { script: 'echo kept' });
      const console_ = spec(runId, { kind: 'interactive', command: ['sh', '-c', 'echo on-screen; sleep 30'] });
      scheduler.assign(background);
      scheduler.assign(console_);
      await waitFor('background line sent', () => scheduler.lines(background.taskId, 'stdout').includes('kept'));
      await waitFor('screen kept on disk', () => (alive(agent), readdirSync(stateDir).some((f) => f.endsWith('.screen'))), 20_000);
      expect(statSync(stateDir).mode & 0o777).toBe(0o700);
      const files = readdirSync(stateDir);
      expect(files.some((f) => f.endsWith('.log.jsonl'))).toBe(true);
      expect(files.some((f) => f.endsWith('.json'))).toBe(true);
      for (const file of files) {
        // A temp file may be renamed away between the listing and the look.
        const mode = statSync(join(stateDir, file), { throwIfNoEntry: false })?.mode;
        if (mode !== undefined) expect([file, (mode & 0o777).toString(8)]).toEqual([file, '600']);
      }
    } finally {
      scheduler.autoAck = true;
      agent.kill('SIGTERM');
      await exited(agent);
    }
  });
});
