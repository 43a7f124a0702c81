import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../agent.js';
import { memoryBytes } from '../drivers/docker/container-options.js';
import { containersOf, agentConfig, removeTestContainers, spec, testRunId } from '../testing/docker-fixtures.js';
import { FakeScheduler, waitFor } from '../testing/fake-scheduler.js';

// Real Docker, real websocket: the agent code in-process against a fake scheduler.
const runId = testRunId();
let scheduler: FakeScheduler;
let agent: RunningAgent;

beforeAll(async () => {
  scheduler = new FakeScheduler({ heartbeatIntervalMs: 1000 });
  const url = await scheduler.listen();
  // A small log window, so bursts and outages exercise lines waiting on disk.
  agent = await startAgent(agentConfig(url, runId, { spoolMemoryBytes: 256 * 1024 }));
  await waitFor('hello', () => scheduler.hellos.length > 0);
});

afterAll(async () => {
  await agent?.stop();
  await scheduler?.close();
  await removeTestContainers(runId);
});

async function run(overrides: Parameters<typeof spec>[1], timeoutMs = 60_000) {
  const task = spec(runId, overrides);
  scheduler.assign(task);
  const exited = await waitFor(`exit of ${task.taskId}`, () => scheduler.exits.get(task.taskId), timeoutMs);
  return { task, exited };
}

describe('agent running tasks in Docker', () => {
  it('says hello with its name, version, capacity and the bearer token', () => {
    const hello = scheduler.hellos[0]!;
    expect(hello.agentName).toBe(`agent-${runId}`);
    expect(hello.protocolVersion).toBe(1);
    expect(hello.agentVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(hello.capacity.cpu).toBeGreaterThan(0);
    expect(hello.capacity.memoryGb).toBeGreaterThan(0);
    expect(scheduler.authHeaders[0]).toBe('Bearer test-token');
  });

  it('runs echo: accepted, PENDING, RUNNING, contiguous log, exit code, then removes the container', async () => {
    const { task, exited } = await run({ script: 'echo one; echo two; echo three' });
    const mine = scheduler.frames.filter((f) => 'taskId' in f && f.taskId === task.taskId);
    const kinds = mine.map((f) => (f.type === 'task.status' ? f.status : f.type));
    expect(kinds.indexOf('task.accepted')).toBe(0);
    expect(kinds.indexOf('PENDING')).toBeLessThan(kinds.indexOf('RUNNING'));
    expect(kinds.indexOf('RUNNING')).toBeLessThan(kinds.indexOf('task.exited'));
    expect(scheduler.lines(task.taskId, 'stdout')).toEqual(['one', 'two', 'three']);
    let expected = 1;
    for (const frame of scheduler.of('task.log', task.taskId)) {
      expect(frame.seq).toBe(expected);
      expected += frame.lines.length;
    }
    expect(exited).toMatchObject({ stopCode: 'EXITED', exitCode: 0, lastSeq: scheduler.storedSeq(task.taskId) });
    expect(exited.startedAt).not.toBeNull();
    expect(Date.parse(exited.finishedAt)).toBeGreaterThanOrEqual(Date.parse(exited.startedAt!));
    expect(scheduler.duplicates.get(task.taskId)).toBeUndefined();
    // Removed once the exit was acknowledged.
    await waitFor('container removed', async () => !(await containersOf(runId)).some((c) => c.Labels['tapit.task-id'] === task.taskId), 20_000);
  });

  it('creates a hardened, labelled container; spec labels cannot override the agent\'s', async () => {
    const task = spec(runId, { script: 'echo up; sleep 30', labels: { 'tapit.test': runId, 'tapit.task-id': 'forged', team: 'data' } });
    scheduler.assign(task);
    await waitFor('up', () => scheduler.lines(task.taskId).includes('up'));
    const [info] = (await containersOf(runId)).filter((c) => c.Labels['tapit.task-id'] === task.taskId);
    const c = await new Docker().getContainer(info!.Id).inspect();
    expect(c.Config.Labels).toMatchObject({ 'tapit.task-id': task.taskId, 'tapit.agent': `agent-${runId}`, team: 'data' });
    expect(c.HostConfig).toMatchObject({
      Privileged: false,
      SecurityOpt: ['no-new-privileges'],
      PidsLimit: 1024,
      NanoCpus: 0.5e9,
      Memory: memoryBytes(0.25),
      MemorySwap: memoryBytes(0.25),
      NetworkMode: 'none',
    });
    const running = scheduler.of('task.status', task.taskId).find((s) => s.status === 'RUNNING')!;
    expect(running.imageDigest).toMatch(/^sha256:|@sha256:/);
    // RUNNING goes out as the start call returns, asking the engine nothing more (it is busy
    // with a short task's end right then), at the time the call was made: at most a moment
    // before the engine's own start time, which the exit report carries exactly.
    const startedMs = Date.parse(c.State.StartedAt);
    expect(Date.parse(running.at)).toBeLessThanOrEqual(startedMs);
    expect(Date.parse(running.at)).toBeGreaterThan(startedMs - 1000);
    scheduler.send({ type: 'task.stop', taskId: task.taskId, stopCode: 'USER_STOPPED', reason: 'done', graceSeconds: 0 });
    await waitFor('exit', () => scheduler.exits.get(task.taskId));
    expect(Date.parse(scheduler.exits.get(task.taskId)!.startedAt!)).toBe(startedMs);
  });

  it('reports a non-zero exit code', async () => {
    const { exited } = await run({ script: 'echo failing; exit 3' });
    // A plain exit has no reason: the scheduler already prints "EXITED (exit code 3)".
    expect(exited).toMatchObject({ stopCode: 'EXITED', exitCode: 3, reason: null });
  });

  it('keeps the very first line of output, stdout and stderr apart', async () => {
    const { task } = await run({ script: 'echo first; echo second >&2; exit 0' });
    expect(scheduler.lines(task.taskId, 'stdout')[0]).toBe('first');
    expect(scheduler.lines(task.taskId, 'stderr')).toEqual(['second']);
  });

  it('applies the memory limit (cgroup v1 or v2) with no extra swap', async () => {
    const { task } = await run({
      script: 'cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes; cat /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.swap.max',
      resources: { cpu: 0.5, memoryGb: 0.25, maxHours: null, ephemeralStorageGb: null },
    });
    const [memory, swap] = scheduler.lines(task.taskId, 'stdout');
    expect(Number(memory)).toBe(memoryBytes(0.25));
    // v1 counts memory+swap together (equal to memory), v2 counts swap alone (0).
    expect([String(memoryBytes(0.25)), '0']).toContain(swap);
  });

  it('reports OOM_KILLED when the task exceeds its memory', async () => {
    const { exited } = await run({
      script: 'x=a; while true; do x=$x$x; done',
      resources: { cpu: 1, memoryGb: 0.016, maxHours: null, ephemeralStorageGb: null },
    });
    expect(exited.stopCode).toBe('OOM_KILLED');
    expect(exited.exitCode).toBe(137);
  });

  it('stops a task past max_hours, counted from its real start, as TIMED_OUT', async () => {
    const { task, exited } = await run({ script: 'echo started; sleep 60', resources: { cpu: 0.5, memoryGb: 0.25, maxHours: 0.0005, ephemeralStorageGb: null } });
    expect(exited.stopCode).toBe('TIMED_OUT');
    expect(exited.reason).toContain('max_hours');
    const ran = Date.parse(exited.finishedAt) - Date.parse(exited.startedAt!);
    expect(ran).toBeGreaterThanOrEqual(1700);
    expect(ran).toBeLessThan(10_000);
    expect(scheduler.of('task.status', task.taskId).map((s) => s.status)).toContain('STOPPING');
  });

  it('task.stop sends SIGTERM, then SIGKILL after the grace period: USER_STOPPED', async () => {
    const task = spec(runId, { script: "trap 'echo got TERM' TERM; echo ready; while true; do sleep 0.2; done" });
    scheduler.assign(task);
    await waitFor('ready', () => scheduler.lines(task.taskId).includes('ready'));
    const stoppedAt = Date.now();
    scheduler.send({ type: 'task.stop', taskId: task.taskId, stopCode: 'USER_STOPPED', reason: 'stopped by alice', graceSeconds: 2 });
    const exited = await waitFor('exit', () => scheduler.exits.get(task.taskId), 30_000);
    expect(exited).toMatchObject({ stopCode: 'USER_STOPPED', reason: 'stopped by alice', exitCode: 137 });
    expect(scheduler.lines(task.taskId, 'stdout')).toContain('got TERM');
    expect(Date.parse(exited.finishedAt) - stoppedAt).toBeGreaterThanOrEqual(1500);
  });

  it('reports a missing image as FAILED_TO_START with the engine message', async () => {
    const { task, exited } = await run({ image: 'tapit-test/does-not-exist:nope' }, 120_000);
    expect(exited.stopCode).toBe('FAILED_TO_START');
    expect(exited.exitCode).toBeNull();
    // The engine's own words, as `docker pull` gives them.
    const engine = await new Docker().pull(task.image).then(
      () => 'pulled',
      (error: Error) => error.message.replace(/^\(HTTP code \d+\) [^-]*- /, '').trim(),
    );
    expect(exited.reason).toBe(`pulling image ${task.image} failed: ${engine}`);
    expect(scheduler.lines(task.taskId, 'system').some((l) => l.startsWith('Pulling image'))).toBe(true);
  });

  it('stops a task writing beyond ephemeral_storage_gb as STORAGE_EXCEEDED', async () => {
    const { exited } = await run({
      script: 'dd if=/dev/zero of=/big bs=1M count=40; echo written; sleep 60',
      resources: { cpu: 0.5, memoryGb: 0.25, maxHours: null, ephemeralStorageGb: 0.01 },
    });
    expect(exited.stopCode).toBe('STORAGE_EXCEEDED');
    expect(exited.usage.diskBytes).toBeGreaterThan(0.01 * 1024 ** 3);
  });

  it('reports peak memory, CPU seconds and disk use sampled while the task ran', async () => {
    const { exited } = await run({ script: 'dd if=/dev/zero of=/file bs=1M count=3 2>/dev/null; i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done; sleep 2' });
    expect(exited.usage.peakMemoryBytes).toBeGreaterThan(0);
    expect(exited.usage.cpuSeconds).toBeGreaterThan(0);
    expect(exited.usage.diskBytes).toBeGreaterThanOrEqual(3 * 1024 * 1024);
  });

  it('welcome.drop of a task the scheduler finished: stops it, still delivers its log, then removes it', async () => {
    const task = spec(runId, { script: "trap 'echo bye' TERM; echo up; while true; do sleep 0.2; done" });
    scheduler.assign(task);
    await waitFor('up', () => scheduler.lines(task.taskId).includes('up'));
    scheduler.drop.add(task.taskId);
    scheduler.socket!.terminate();
    const exited = await waitFor('exit', () => scheduler.exits.get(task.taskId), 30_000);
    expect(exited.stopCode).toBe('AGENT_LOST');
    expect(scheduler.lines(task.taskId, 'stdout')).toEqual(['up', 'bye']);
    await waitFor('container removed', async () => !(await containersOf(runId)).some((c) => c.Labels['tapit.task-id'] === task.taskId), 30_000);
  });

  it('welcome.drop of a task the scheduler never heard of: stops and removes it at once, reporting nothing', async () => {
    const task = spec(runId, { script: 'echo up; sleep 60' });
    scheduler.assign(task);
    await waitFor('up', () => scheduler.lines(task.taskId).includes('up'));
    scheduler.unknown.add(task.taskId);
    const hellos = scheduler.hellos.length;
    scheduler.socket!.terminate();
    await waitFor('hello after reconnect', () => scheduler.hellos.length > hellos, 15_000);
    expect(scheduler.hellos.at(-1)!.tasks.map((t) => t.taskId)).toContain(task.taskId);
    await waitFor('container removed', async () => !(await containersOf(runId)).some((c) => c.Labels['tapit.task-id'] === task.taskId), 30_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(scheduler.exits.get(task.taskId)).toBeUndefined();
  });

  it('never blocks a task writing a burst while the scheduler is away; the lines arrive later, in order', async () => {
    const task = spec(runId, { script: "sleep 1; seq 1 100000 | sed 's/^/burst/'; echo end" });
    scheduler.assign(task);
    await waitFor('running', () => scheduler.of('task.status', task.taskId).some((s) => s.status === 'RUNNING'));
    scheduler.goDown();
    const mine = async () => (await containersOf(runId)).find((c) => c.Labels['tapit.task-id'] === task.taskId);
    await waitFor('container finished while the scheduler is down', async () => (await mine())?.State === 'exited', 30_000);
    scheduler.down = false;
    const exited = await waitFor('exit', () => scheduler.exits.get(task.taskId), 60_000);
    const lines = scheduler.lines(task.taskId, 'stdout');
    expect(lines.length).toBe(100_001);
    expect(lines[0]).toBe('burst1');
    expect(lines[99_999]).toBe('burst100000');
    expect(lines.every((l, i) => l === (i < 100_000 ? `burst${i + 1}` : 'end'))).toBe(true);
    expect(exited.lastSeq).toBe(scheduler.storedSeq(task.taskId));
  });

  it('re-sends unacknowledged lines after a reconnect, and only reports the exit once all are stored', async () => {
    scheduler.autoAck = false;
    const task = spec(runId, { script: 'for i in $(seq 1 30); do echo line$i; done' });
    scheduler.assign(task);
    await waitFor('30 lines', () => scheduler.lines(task.taskId, 'stdout').length === 30);
    await new Promise((r) => setTimeout(r, 500));
    expect(scheduler.exits.get(task.taskId)).toBeUndefined();
    // The scheduler kept only the first 5 lines (e.g. it crashed before storing the rest).
    const stored = scheduler.logs.get(task.taskId)!;
    for (const seq of [...stored.keys()]) if (seq > 5) stored.delete(seq);
    const before = scheduler.connections;
    scheduler.autoAck = true;
    scheduler.socket!.terminate();
    const exited = await waitFor('exit after reconnect', () => scheduler.exits.get(task.taskId), 30_000);
    expect(scheduler.connections).toBeGreaterThan(before);
    expect(scheduler.lines(task.taskId, 'stdout')).toEqual(Array.from({ length: 30 }, (_, i) => `line${i + 1}`));
    expect(exited.lastSeq).toBe(scheduler.storedSeq(task.taskId));
  });
});
