import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containersOf, removeTestContainers, spec, testRunId } from './testing/docker-fixtures.js';
import { FakeScheduler, waitFor } from './testing/fake-scheduler.js';

// The built agent as a child process, killed with SIGKILL mid-task and started again.
const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const runId = testRunId();
const children: ChildProcess[] = [];
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
  // The agents' own stderr helps when a test here fails.
  if (process.env.TAPIT_TEST_AGENT_LOGS) for (const child of children as (ChildProcess & { output: string[] })[]) process.stderr.write(child.output.join(''));
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await scheduler?.close();
  await removeTestContainers(runId);
});

function startAgent(stateDir: string, env: Record<string, string> = {}): ChildProcess & { output: string[] } {
  const child = spawn(process.execPath, ['bin/tapit-agent.js'], {
    cwd: packageDir,
    env: {
      ...process.env,
      TAPIT_AGENT_QUIET: '0',
      TAPIT_SCHEDULER_URL: url,
      TAPIT_AGENT_TOKEN: 'test-token',
      TAPIT_AGENT_NAME: `agent-${runId}`,
      TAPIT_AGENT_STATE_DIR: stateDir,
      TAPIT_AGENT_NETWORK: 'none',
      TAPIT_AGENT_STOP_GRACE_SECONDS: '2',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  }) as ChildProcess & { output: string[] };
  child.output = [];
  child.stderr!.on('data', (d: Buffer) => child.output.push(d.toString()));
  children.push(child);
  return child;
}

/** Starts an agent and waits until it has said hello on a new connection. */
async function startConnected(stateDir: string, env: Record<string, string> = {}): Promise<ChildProcess & { output: string[] }> {
  const hellos = scheduler.hellos.length;
  const child = startAgent(stateDir, env);
  await waitFor('hello of the new agent', () => scheduler.hellos.length > hellos);
  return child;
}

const exited = (child: ChildProcess) => new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', (code) => r(code))));

async function killHard(child: ChildProcess): Promise<void> {
  child.kill('SIGKILL');
  await exited(child);
}

async function containerIds(taskId: string): Promise<string[]> {
  return (await containersOf(runId)).filter((c) => c.Labels['tapit.task-id'] === taskId).map((c) => c.Id);
}

describe('agent restarts', () => {
  it('after kill -9, ten times mid-task: same container, every line exactly once in order, real exit', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'tapit-agent-'));
    // It waits for SIGUSR1 after its lines, so it outlives the ten restarts however slow they are.
    const task = spec(runId, { script: 'trap "go=1" USR1; i=1; while [ $i -le 600 ]; do echo line$i; i=$((i+1)); sleep 0.02; done; while [ -z "$go" ]; do sleep 0.1; done; exit 5' });
    let agent = await startConnected(stateDir);
    scheduler.assign(task);
    await waitFor('first lines', () => scheduler.storedSeq(task.taskId) > 5);
    const [containerId] = await containerIds(task.taskId);
    for (let round = 0; round < 10; round++) {
      // Irregular spacing, so kills land at different points (mid-write, mid-send, idle).
      await new Promise((r) => setTimeout(r, 300 + ((round * 137) % 500)));
      await killHard(agent);
      agent = await startConnected(stateDir);
      expect(await containerIds(task.taskId)).toEqual([containerId]);
    }
    await waitFor('all lines', () => scheduler.lines(task.taskId, 'stdout').length >= 600, 90_000);
    await new Docker().getContainer(containerId!).kill({ signal: 'SIGUSR1' });
    const exit = await waitFor('exit', () => scheduler.exits.get(task.taskId), 90_000);
    expect(exit).toMatchObject({ stopCode: 'EXITED', exitCode: 5 });
    expect(scheduler.lines(task.taskId, 'stdout')).toEqual(Array.from({ length: 600 }, (_, i) => `line${i + 1}`));
    expect(scheduler.conflicts).toEqual([]);
    expect(exit.lastSeq).toBe(scheduler.storedSeq(task.taskId));
    // The hellos after each restart held the task with its last seq: nothing was relaunched.
    expect(scheduler.hellos.slice(-10).every((h) => h.tasks.some((t) => t.taskId === task.taskId))).toBe(true);
    await waitFor('container removed after the ack', async () => (await containerIds(task.taskId)).length === 0, 20_000);
    agent.kill('SIGTERM');
    expect(await exited(agent)).toBe(0);
  });

  it("keeps a task's env out of its state folder and its own log, masks its secrets in the task log, and asks for them again after kill -9", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'tapit-agent-'));
    const secret = 'sup3r-s3cret-value-42';
    const task = spec(runId, {
      script: 'echo "plain=$PLAIN secret=$SECRET"; i=0; while [ ! -e /tmp/go ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; echo "after=$SECRET"; echo "$SECRET$SECRET"',
      env: { PLAIN: 'visible', SECRET: secret },
      secretKeys: ['SECRET'],
    });
    const onDisk = () => readdirSync(stateDir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => readFileSync(join(e.parentPath, e.name), 'utf8')).join('\n');
    let agent = await startConnected(stateDir);
    scheduler.assign(task);
    await waitFor('first line', () => scheduler.storedSeq(task.taskId) > 0 && scheduler.lines(task.taskId, 'stdout').length > 0);
    expect(onDisk()).toContain(task.taskId);
    expect(onDisk()).not.toContain(secret);
    expect(onDisk()).not.toContain('visible');
    await killHard(agent);
    const requests = scheduler.of('task.env.request', task.taskId).length;
    agent = await startConnected(stateDir);
    await waitFor('env asked for again', () => scheduler.of('task.env.request', task.taskId).length > requests);
    execFileSync('docker', ['exec', `tapit-${task.taskId}`, 'touch', '/tmp/go']);
    const exit = await waitFor('exit', () => scheduler.exits.get(task.taskId), 60_000);
    expect(exit).toMatchObject({ stopCode: 'EXITED', exitCode: 0 });
    expect(scheduler.lines(task.taskId, 'stdout')).toEqual(['plain=visible secret=••••', 'after=••••', '••••••••']);
    expect(onDisk()).not.toContain(secret);
    for (const child of children as (ChildProcess & { output: string[] })[]) expect(child.output.join('')).not.toContain(secret);
    agent.kill('SIGTERM');
    expect(await exited(agent)).toBe(0);
  });

  it('killed right after accepting a task: the restart launches it once, not twice', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'tapit-agent-'));
    const task = spec(runId, { script: 'echo once; sleep 1' });
    let agent = await startConnected(stateDir);
    scheduler.assign(task);
    await waitFor('accepted', () => scheduler.of('task.accepted', task.taskId).length > 0);
    await killHard(agent);
    agent = await startConnected(stateDir);
    expect(scheduler.hellos.at(-1)!.tasks.map((t) => t.taskId)).toContain(task.taskId);
    const exit = await waitFor('exit', () => scheduler.exits.get(task.taskId), 60_000);
    expect(exit).toMatchObject({ stopCode: 'EXITED', exitCode: 0 });
    expect(scheduler.lines(task.taskId, 'stdout')).toEqual(['once']);
    agent.kill('SIGTERM');
    expect(await exited(agent)).toBe(0);
  });

  it('re-sends from its disk spool, after kill -9, the lines the scheduler had not stored', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'tapit-agent-'));
    const task = spec(runId, { script: 'for i in $(seq 1 50); do echo n$i; done; sleep 2' });
    let agent = await startConnected(stateDir);
    scheduler.autoAck = false;
    scheduler.assign(task);
    await waitFor('50 lines sent', () => scheduler.storedSeq(task.taskId) >= 50);
    // The scheduler loses everything after line 3 and never acks: only the spool has the rest.
    const forget = () => {
      const stored = scheduler.logs.get(task.taskId)!;
      for (const seq of [...stored.keys()]) if (seq > 3) stored.delete(seq);
    };
    // Twice: the second start reads the spool as the first restart rewrote it.
    await killHard(agent);
    forget();
    agent = await startConnected(stateDir);
    await waitFor('re-sent', () => scheduler.storedSeq(task.taskId) >= 50);
    await killHard(agent);
    forget();
    scheduler.autoAck = true;
    agent = await startConnected(stateDir);
    const exit = await waitFor('exit', () => scheduler.exits.get(task.taskId), 60_000);
    expect(exit).toMatchObject({ stopCode: 'EXITED', exitCode: 0 });
    expect(scheduler.lines(task.taskId, 'stdout')).toEqual(Array.from({ length: 50 }, (_, i) => `n${i + 1}`));
    expect(scheduler.conflicts).toEqual([]);
    agent.kill('SIGTERM');
    expect(await exited(agent)).toBe(0);
  });

  it('counts max_hours from the real start across an agent restart', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'tapit-agent-'));
    // max_hours 0.002: 7.2 s. The agent is away past that; back, it stops the task at once.
    const task = spec(runId, { script: 'echo started; sleep 60', resources: { cpu: 0.5, memoryGb: 0.25, maxHours: 0.002, ephemeralStorageGb: null } });
    let agent = await startConnected(stateDir);
    scheduler.assign(task);
    await waitFor('started', () => scheduler.lines(task.taskId).includes('started'));
    await new Promise((r) => setTimeout(r, 500));
    await killHard(agent);
    const started = Date.parse(scheduler.of('task.status', task.taskId).find((s) => s.status === 'RUNNING')!.at);
    await new Promise((r) => setTimeout(r, Math.max(0, started + 8000 - Date.now())));
    const back = Date.now();
    agent = await startConnected(stateDir);
    const exit = await waitFor('exit', () => scheduler.exits.get(task.taskId), 60_000);
    expect(exit.stopCode).toBe('TIMED_OUT');
    const ran = Date.parse(exit.finishedAt) - Date.parse(exit.startedAt!);
    expect(ran).toBeGreaterThanOrEqual(7100);
    // Counted from the real start it was due before the agent came back: stopped then (the 2 s
    // grace and the restart's own time). A deadline counted again from the restart would give
    // the task another 7.2 s after it.
    expect(Date.parse(exit.finishedAt) - back).toBeLessThan(7200);
    agent.kill('SIGTERM');
    expect(await exited(agent)).toBe(0);
  });

  it('reports the real end of a task that finished while the agent was down', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'tapit-agent-'));
    const task = spec(runId, { script: 'echo before; sleep 2; echo after; exit 7' });
    let agent = await startConnected(stateDir);
    scheduler.assign(task);
    await waitFor('before', () => scheduler.lines(task.taskId).includes('before'));
    await killHard(agent);
    await new Promise((r) => setTimeout(r, 3000)); // the task ends meanwhile
    agent = startAgent(stateDir);
    const exit = await waitFor('exit', () => scheduler.exits.get(task.taskId), 60_000);
    expect(exit).toMatchObject({ stopCode: 'EXITED', exitCode: 7 });
    expect(scheduler.lines(task.taskId, 'stdout')).toEqual(['before', 'after']);
    agent.kill('SIGTERM');
    expect(await exited(agent)).toBe(0);
  });

  it('kill -9 while a console runs: the restarted agent takes its TTY again, replays the screen, same shell', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'tapit-agent-'));
    const task = spec(runId, { kind: 'interactive', command: ['sh'] });
    let agent = await startConnected(stateDir);
    scheduler.assign(task);
    await waitFor('RUNNING', () => scheduler.of('task.status', task.taskId).some((s) => s.status === 'RUNNING'));
    const [containerId] = await containerIds(task.taskId);
    const before = await scheduler.openConsole(task.taskId);
    before.type('X=kept; echo before-$((2*21))\r');
    await before.until('before-42');
    await new Promise((r) => setTimeout(r, 500)); // the screen file trails by up to 250 ms
    before.type('sleep 1; echo away-$((3*5))\r');
    await before.until('sleep 1');
    await killHard(agent);
    await waitFor('stream dropped with the agent', () => before.closed);
    await new Promise((r) => setTimeout(r, 2000)); // the shell writes while no agent holds its TTY
    agent = await startConnected(stateDir);
    expect(await containerIds(task.taskId)).toEqual([containerId]);
    const after = await scheduler.openConsole(task.taskId);
    const attached = await waitFor('attached', () => after.frame('attached'));
    await waitFor('replay', () => after.stdout.length >= attached.replayed);
    // The kept screen, then what the engine logged while the agent was away; nothing twice.
    const replay = after.stdout.subarray(0, attached.replayed).toString();
    expect(replay.match(/before-42/g)).toHaveLength(1);
    expect(replay.match(/\r\naway-15\r\n/g)).toHaveLength(1);
    // Its offset counts on across the restart: a client that showed `before` skips just that.
    const shownBefore = before.frame('attached')!.offset! + before.stdout.length;
    const unseen = after.stdout.subarray(Math.max(0, shownBefore - attached.offset!), attached.replayed).toString();
    expect(unseen).not.toContain('before-42');
    expect(unseen).toContain('away-15');
    after.type('echo "x=$X"\r');
    await after.until('x=kept\r\n', attached.replayed);
    after.type('exit 9\r');
    await waitFor('exited frame', () => after.frame('exited'));
    expect(after.frame('exited')!.exitCode).toBe(9);
    const exit = await waitFor('exit', () => scheduler.exits.get(task.taskId), 30_000);
    expect(exit).toMatchObject({ stopCode: 'EXITED', exitCode: 9 });
    agent.kill('SIGTERM');
    expect(await exited(agent)).toBe(0);
  });

  it('a console\'s grace period is not extended by an agent restart', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'tapit-agent-'));
    const env = { TAPIT_CONSOLE_GRACE_SECONDS: '6' };
    const task = spec(runId, { kind: 'interactive', command: ['sh'] });
    let agent = await startConnected(stateDir, env);
    scheduler.assign(task);
    await waitFor('RUNNING', () => scheduler.of('task.status', task.taskId).some((s) => s.status === 'RUNNING'));
    await new Promise((r) => setTimeout(r, 1500));
    await killHard(agent);
    // Away past the grace period (counted from the start, nobody ever attached).
    const started = Date.parse(scheduler.of('task.status', task.taskId).find((s) => s.status === 'RUNNING')!.at);
    await new Promise((r) => setTimeout(r, Math.max(0, started + 7000 - Date.now())));
    const back = Date.now();
    agent = await startConnected(stateDir, env);
    const exit = await waitFor('exit', () => scheduler.exits.get(task.taskId), 30_000);
    expect(exit).toMatchObject({ stopCode: 'TIMED_OUT', reason: 'console had nobody attached for 6 s' });
    const ran = Date.parse(exit.finishedAt) - Date.parse(exit.startedAt!);
    expect(ran).toBeGreaterThanOrEqual(5500);
    // Back after the grace ran out: stopped then (2 s stop grace, sh as PID 1 ignores SIGTERM,
    // and the restart's own time); counted again from the restart it would get 6 s more.
    expect(Date.parse(exit.finishedAt) - back).toBeLessThan(6000);
    agent.kill('SIGTERM');
    expect(await exited(agent)).toBe(0);
  });

  it('on SIGTERM leaves the container running; a restart with a wiped state folder re-adopts it by label', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'tapit-agent-'));
    const task = spec(runId, { script: 'echo up; sleep 4; echo done' });
    let agent = await startConnected(stateDir);
    scheduler.assign(task);
    await waitFor('up', () => scheduler.lines(task.taskId).includes('up'));
    const [containerId] = await containerIds(task.taskId);
    agent.kill('SIGTERM');
    expect(await exited(agent)).toBe(0);
    expect(agent.output.join('')).toContain('agent.stopping');
    expect(await containerIds(task.taskId)).toEqual([containerId]);
    agent = await startConnected(mkdtempSync(join(tmpdir(), 'tapit-agent-wiped-')));
    expect(scheduler.hellos.at(-1)!.tasks.map((t) => t.taskId)).toContain(task.taskId);
    const exit = await waitFor('exit', () => scheduler.exits.get(task.taskId), 60_000);
    expect(exit).toMatchObject({ stopCode: 'EXITED', exitCode: 0 });
    expect(await containerIds(task.taskId).then((ids) => ids.length <= 1)).toBe(true);
    const lines = scheduler.lines(task.taskId);
    expect(lines[0]).toBe('up');
    expect(lines.some((l) => l.startsWith('Agent state was lost'))).toBe(true);
    expect(scheduler.conflicts).toEqual([]);
    agent.kill('SIGTERM');
    await exited(agent);
  });
});
