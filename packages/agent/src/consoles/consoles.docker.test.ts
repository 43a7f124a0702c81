import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../agent.js';
import { agentConfig, containersOf, removeTestContainers, spec, testRunId, TEST_IMAGE } from '../testing/docker-fixtures.js';
import { FakeScheduler, waitFor, type FakeConsoleStream } from '../testing/fake-scheduler.js';

// Consoles and exec end to end: real Docker, the agent in-process, the fake scheduler's end of
// each dial-back stream standing in for the user.
const runId = testRunId();
const NOBODY_IMAGE = `tapit-test/busybox-nobody:${runId}`;
let scheduler: FakeScheduler;
let agent: RunningAgent;
let stateDir: string;

beforeAll(async () => {
  scheduler = new FakeScheduler({ heartbeatIntervalMs: 1000 });
  const config = agentConfig(await scheduler.listen(), runId);
  stateDir = config.stateDir;
  agent = await startAgent(config);
  await waitFor('hello', () => scheduler.hellos.length > 0);
});

afterAll(async () => {
  await agent?.stop();
  await scheduler?.close();
  await removeTestContainers(runId);
  execFileSync('docker', ['image', 'rm', '-f', NOBODY_IMAGE], { stdio: 'ignore' });
});

/** Starts an interactive `sh` (or `command`) and waits until it runs. */
async function interactive(overrides: Parameters<typeof spec>[1] = {}, on = scheduler) {
  const task = spec(runId, { kind: 'interactive', command: ['sh'], ...overrides });
  on.assign(task);
  await waitFor('RUNNING', () => on.of('task.status', task.taskId).some((s) => s.status === 'RUNNING'));
  return task;
}

async function attach(taskId: string, size = { cols: 80, rows: 24 }, client?: string): Promise<FakeConsoleStream> {
  const stream = await scheduler.openConsole(taskId, { mode: 'attach', size, ...(client ? { client } : {}) });
  await waitFor('attached', () => stream.frame('attached') ?? stream.frame('error'));
  expect(stream.frame('error')).toBeUndefined();
  return stream;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('interactive consoles', () => {
  it('runs a TTY with open stdin; typed input reaches the shell and its output comes back', async () => {
    const task = await interactive();
    const [info] = (await containersOf(runId)).filter((c) => c.Labels['tapit.task-id'] === task.taskId);
    const c = await new Docker().getContainer(info!.Id).inspect();
    expect(c.Config).toMatchObject({ Tty: true, OpenStdin: true, StdinOnce: false, User: '' });
    const s = await attach(task.taskId);
    expect(s.auth).toBe(`Bearer ${scheduler.hellos[0]!.credential}`); // its own credential, not the join token
    s.type('echo hi\r');
    // The TTY echoes the command line; the command's own output is `hi` on a line of its own.
    await s.until(/\r\nhi\r\n/);
    s.control({ type: 'resize', cols: 123, rows: 45 });
    await sleep(200);
    s.type('stty size\r');
    await s.until('45 123\r\n');
    await s.close();
  });

  it('gives the TTY a size (80x24) before anyone attaches', async () => {
    const task = await interactive({ command: ['sh', '-c', 'sleep 1; echo size=$(stty size); exec sh'] });
    await sleep(2000);
    const s = await attach(task.taskId, { cols: 100, rows: 40 });
    await s.until('size=24 80\r\n');
    s.type('exit\r');
    await waitFor('exit', () => scheduler.exits.get(task.taskId));
  });

  it('replays recent output on reattach and keeps the same shell; several sessions see the output', async () => {
    const task = await interactive();
    const first = await attach(task.taskId);
    first.type('X=kept; echo marker-$((40+2))\r');
    await first.until('marker-42');
    first.control({ type: 'detach' });
    await waitFor('detached stream closed', () => first.closed);
    const second = await attach(task.taskId);
    const attached = second.frame('attached')!;
    await waitFor('replay', () => second.stdout.length >= attached.replayed);
    expect(attached.replayed).toBeGreaterThan(0);
    expect(second.stdout.subarray(0, attached.replayed).toString()).toContain('marker-42');
    // Everything the first session saw, counted from the console's start: the replay ends at or
    // after it, so a reconnecting client knows what it already showed.
    expect(attached.offset).toBeDefined();
    expect(attached.offset! + attached.replayed).toBeGreaterThanOrEqual(first.frame('attached')!.offset! + first.stdout.length);
    const third = await attach(task.taskId);
    const from = [second.stdout.length, third.stdout.length];
    second.type('echo "value=$X"\r');
    await second.until('value=kept', from[0]);
    await third.until('value=kept', from[1]);
    // A dropped stream (no detach frame) is a detach too: the console runs on.
    second.ws.terminate();
    third.type('echo still-$((1+1))\r');
    await third.until('still-2', from[1]);
    await third.close();
  });

  it('tells a client attaching again how much of its input the console took, for it to send the rest', async () => {
    const task = await interactive();
    const client = 'c1'.repeat(16);
    const first = await attach(task.taskId, undefined, client);
    // The first time, there is nothing to send again.
    expect(first.frame('attached')!.inputReceived).toBeUndefined();
    first.type('echo one-$((0+1))\r');
    await first.until('one-1');
    first.type('echo two-$((1+1))\r');
    await first.until('two-2');
    first.ws.terminate(); // the link broke
    await waitFor('dropped stream closed', () => first.closed);
    const again = await attach(task.taskId, undefined, client);
    expect(again.frame('attached')!.inputReceived).toBe('echo one-$((0+1))\r'.length + 'echo two-$((1+1))\r'.length);
    // Another client, or none, is told nothing.
    const other = await attach(task.taskId, undefined, 'c2'.repeat(16));
    expect(other.frame('attached')!.inputReceived).toBeUndefined();
    const anonymous = await attach(task.taskId);
    expect(anonymous.frame('attached')!.inputReceived).toBeUndefined();
    again.type('exit\r');
    await waitFor('exit', () => scheduler.exits.get(task.taskId));
  });

  it('sends Ctrl-C to the remote program', async () => {
    const task = await interactive();
    const s = await attach(task.taskId);
    s.type('sleep 100; echo uninterrupted-$((5*5))\r');
    await sleep(700);
    const from = s.stdout.length;
    const t0 = Date.now();
    s.type(Buffer.from([0x03]));
    s.type('echo after-$((2*3))\r');
    await s.until('after-6', from);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(s.output).not.toContain('uninterrupted-25');
    await s.close();
  });

  it('exit 7: every session hears `exited` 7 and is closed; the task exits EXITED 7 with no reason', async () => {
    const task = await interactive();
    const a = await attach(task.taskId);
    const b = await attach(task.taskId);
    a.type('exit 7\r');
    await waitFor('exited', () => a.frame('exited') && b.frame('exited'));
    expect(a.frame('exited')).toEqual({ type: 'exited', exitCode: 7 });
    expect(b.frame('exited')).toEqual({ type: 'exited', exitCode: 7 });
    await waitFor('closed', () => a.closed && b.closed);
    const exited = await waitFor('task.exited', () => scheduler.exits.get(task.taskId));
    expect(exited).toMatchObject({ stopCode: 'EXITED', exitCode: 7, reason: null });
    // The task log of a console holds lifecycle lines only, not screen bytes.
    expect(scheduler.lines(task.taskId).every((l) => !l.includes('exit 7'))).toBe(true);
    expect(scheduler.lines(task.taskId, 'system')).toContain('Console attached by alice');
    // Once acknowledged, the task leaves nothing behind: container, record, spool, screen.
    await waitFor('container removed', async () => !(await containersOf(runId)).some((c) => c.Labels['tapit.task-id'] === task.taskId), 20_000);
    await waitFor('state removed', () => !readdirSync(stateDir).some((f) => f.startsWith(task.taskId)));
  });

  it('refuses to attach to a background task, pointing at exec', async () => {
    const task = spec(runId, { script: 'sleep 30' });
    scheduler.assign(task);
    await waitFor('RUNNING', () => scheduler.of('task.status', task.taskId).some((s) => s.status === 'RUNNING'));
    const s = await scheduler.openConsole(task.taskId, { mode: 'attach' });
    await waitFor('error', () => s.frame('error'));
    expect(s.frame('error')!.message).toContain('not interactive');
    await waitFor('closed', () => s.closed);
    scheduler.send({ type: 'task.stop', taskId: task.taskId, stopCode: 'USER_STOPPED', reason: 'done', graceSeconds: 0 });
  });

  it('a stuck session is let go; the program and the other sessions run on at full speed', async () => {
    const task = await interactive();
    const stuck = await attach(task.taskId);
    const live = await attach(task.taskId);
    stuck.ws.pause(); // the user's link stops reading: the agent's send buffer fills up
    const from = live.stdout.length;
    live.type('head -c 30000000 /dev/zero | tr "\\0" x; echo; echo end-$((3*3))\r');
    // The live session reads the whole burst and its end. This test process also runs the agent:
    // starved of CPU by other tests, it can fall a megabyte behind as a reader too, and is then let
    // go like any slow session. Either way the program runs on to its end (asserted below).
    await waitFor('the end, or the live session let go', () => live.closed || /\r\nend-9\r\n/.test(live.tail(4096).toString('utf8')), 60_000);
    if (!live.closed) expect(live.stdout.length - from).toBeGreaterThan(30_000_000);
    stuck.ws.resume();
    await waitFor('stuck session closed', () => stuck.closed, 20_000);
    expect(stuck.stdout.length - from).toBeLessThan(30_000_000);
    // Attaching again replays the recent screen, with the program's end, and works as ever.
    const again = await attach(task.taskId);
    await again.until(/\r\nend-9\r\n/, 0, 60_000);
    again.type('exit 0\r');
    await waitFor('exited', () => again.frame('exited'));
  });

  it('runs the image user and entrypoint, for the console and for exec; the first bytes are kept', async () => {
    const builder = await new Docker().createContainer({ Image: TEST_IMAGE, Cmd: ['true'], Labels: { 'tapit.test': runId } });
    const entrypoint = JSON.stringify(['/bin/sh', '-c', 'echo entry-$((6*7)) as $(id -u); exec "$@"', 'entrypoint']);
    execFileSync('docker', ['commit', '--change', 'USER nobody', '--change', `ENTRYPOINT ${entrypoint}`, '--change', `LABEL tapit.test=${runId}`, builder.id, NOBODY_IMAGE], { stdio: 'ignore' });
    const task = await interactive({ image: NOBODY_IMAGE, command: ['sh'] });
    await sleep(500); // printed before anyone attaches: only the screen has it
    const s = await attach(task.taskId);
    await waitFor('replay', () => s.stdout.length >= s.frame('attached')!.replayed);
    expect(s.output).toContain('entry-42 as 65534\r\n');
    s.type('echo uid=$(id -u)\r');
    await s.until('uid=65534\r\n');
    const e = await scheduler.openConsole(task.taskId, { mode: 'exec', command: ['id', '-u'], tty: false });
    await waitFor('exec exited', () => e.frame('exited'));
    expect(e.output).toBe('65534\n');
    s.type('exit\r');
    await waitFor('exit', () => scheduler.exits.get(task.taskId));
  });

  it('enforces max_hours on a console like on any task', async () => {
    const task = await interactive({ resources: { cpu: 0.5, memoryGb: 0.25, maxHours: 0.0005, ephemeralStorageGb: null } });
    const s = await attach(task.taskId);
    const exited = await waitFor('exit', () => scheduler.exits.get(task.taskId), 30_000);
    expect(exited.stopCode).toBe('TIMED_OUT');
    expect(exited.reason).toContain('max_hours');
    await waitFor('session told', () => s.frame('exited'));
  });
});

describe('exec', () => {
  it('with a TTY: a shell in a running background task, resize, exit code', async () => {
    const task = spec(runId, { script: 'sleep 60' });
    scheduler.assign(task);
    await waitFor('RUNNING', () => scheduler.of('task.status', task.taskId).some((s) => s.status === 'RUNNING'));
    const s = await scheduler.openConsole(task.taskId, { mode: 'exec', command: ['sh'], tty: true, size: { cols: 90, rows: 20 } });
    await waitFor('attached', () => s.frame('attached'));
    expect(s.frame('attached')).toEqual({ type: 'attached', sessionId: s.sessionId, replayed: 0 });
    s.type('stty size\r');
    await s.until('20 90\r\n');
    s.control({ type: 'resize', cols: 101, rows: 33 });
    await sleep(200);
    s.type('stty size; tty\r');
    await s.until(/33 101\r\n\/dev\/pts\//);
    s.type('exit 3\r');
    await waitFor('exited', () => s.frame('exited'));
    expect(s.frame('exited')).toEqual({ type: 'exited', exitCode: 3 });
    await waitFor('closed', () => s.closed);
    expect(scheduler.lines(task.taskId, 'system').some((l) => l.startsWith('Exec by alice'))).toBe(true);
    scheduler.send({ type: 'task.stop', taskId: task.taskId, stopCode: 'USER_STOPPED', reason: 'done', graceSeconds: 0 });
  });

  it('without a TTY: stdin piped until stdin.close, stdout and stderr apart, exit code', async () => {
    const task = await interactive();
    const s = await scheduler.openConsole(task.taskId, { mode: 'exec', command: ['sh', '-c', 'tr a-z A-Z; echo to-stderr >&2; exit 4'], tty: false });
    s.type('piped in\n');
    s.type('second line\n');
    await s.until('PIPED IN\nSECOND LINE\n');
    expect(s.frame('exited')).toBeUndefined(); // still waiting for more input
    s.control({ type: 'stdin.close' });
    await waitFor('exited', () => s.frame('exited'));
    expect(s.frame('exited')!.exitCode).toBe(4);
    expect(s.output).toBe('PIPED IN\nSECOND LINE\n');
    expect(s.stderr.toString()).toBe('to-stderr\n');
    const c = await attach(task.taskId);
    c.type('exit\r');
    await waitFor('exit', () => scheduler.exits.get(task.taskId));
  });

  it('answers `error` for a task that is not running, and for one it does not hold', async () => {
    scheduler.autoAck = false; // the finished task stays held until its exit is acked
    const task = spec(runId, { script: 'echo done' });
    scheduler.assign(task);
    await waitFor('exit', () => scheduler.lines(task.taskId).length > 0 && new Docker().getContainer(`tapit-${task.taskId}`).inspect().then((i) => !i.State.Running));
    await sleep(500);
    const s = await scheduler.openConsole(task.taskId, { mode: 'exec', command: ['true'], tty: false });
    await waitFor('error', () => s.frame('error'));
    expect(s.frame('error')!.message).toMatch(/not running/);
    await waitFor('closed', () => s.closed);
    scheduler.autoAck = true;
    scheduler.ack(task.taskId);
    const unknown = await scheduler.openConsole('f'.repeat(32), { mode: 'exec', command: ['true'] });
    await waitFor('error', () => unknown.frame('error'));
    expect(unknown.frame('error')!.message).toContain('not held');
  });
});

describe('console grace period', () => {
  it('stops a console nobody is attached to for TAPIT_CONSOLE_GRACE_SECONDS, counted from the last detach', async () => {
    const other = new FakeScheduler({ heartbeatIntervalMs: 1000 });
    const graceAgent = await startAgent(agentConfig(await other.listen(), runId, { consoleGraceSeconds: 2 }));
    try {
      await waitFor('hello', () => other.hellos.length > 0);
      // Never attached: stopped 2 s after the start.
      const lonely = await interactive({}, other);
      const exited = await waitFor('exit', () => other.exits.get(lonely.taskId), 30_000);
      expect(exited).toMatchObject({ stopCode: 'TIMED_OUT', reason: 'console had nobody attached for 2 s' });
      // Attached for 3 s: the grace starts at the detach.
      const task = await interactive({}, other);
      const s = await other.openConsole(task.taskId);
      await waitFor('attached', () => s.frame('attached'));
      await sleep(3000);
      expect(other.exits.get(task.taskId)).toBeUndefined();
      const detachedAt = Date.now();
      s.control({ type: 'detach' });
      const end = await waitFor('exit', () => other.exits.get(task.taskId), 30_000);
      expect(end.stopCode).toBe('TIMED_OUT');
      expect(Date.parse(end.finishedAt) - detachedAt).toBeGreaterThanOrEqual(1500);
    } finally {
      await graceAgent.stop();
      await other.close();
    }
  });

  it('a session whose link went silent (no pong) counts as detached, so the grace period still ends the console', async () => {
    const other = new FakeScheduler({ heartbeatIntervalMs: 1000 });
    const graceAgent = await startAgent(agentConfig(await other.listen(), runId, { consoleGraceSeconds: 2, consoleKeepaliveMs: 500 }));
    try {
      await waitFor('hello', () => other.hellos.length > 0);
      const task = await interactive({}, other);
      const s = await other.openConsole(task.taskId);
      await waitFor('attached', () => s.frame('attached'));
      s.ws.pause(); // half-open: nothing comes back, not even pongs
      const end = await waitFor('exit', () => other.exits.get(task.taskId), 30_000);
      expect(end).toMatchObject({ stopCode: 'TIMED_OUT', reason: 'console had nobody attached for 2 s' });
      s.ws.resume();
    } finally {
      await graceAgent.stop();
      await other.close();
    }
  });
});
