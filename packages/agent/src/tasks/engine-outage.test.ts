import { afterEach, describe, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../agent.js';
import type { AgentConfig } from '../config.js';
import { agentConfig, spec, testRunId } from '../testing/docker-fixtures.js';
import { FakeDriver } from '../testing/fake-driver.js';
import { FakeScheduler, waitFor } from '../testing/fake-scheduler.js';

// What the agent does around an engine that goes away: readiness, holding tasks, a bounded wait,
// a start with the engine down. The engine is a fake a test switches off; the scheduler is a
// real websocket server. (A real dockerd restarted and stopped: test/faults/docker-engine.test.ts.)
const runId = testRunId();
const CAUSE = 'connect ENOENT /run/fake.sock';
let scheduler: FakeScheduler;
let agent: RunningAgent | null = null;
let driver: FakeDriver;

async function start(overrides: Partial<AgentConfig> = {}, engineAway = false) {
  scheduler = new FakeScheduler({ heartbeatIntervalMs: 1000 });
  const url = await scheduler.listen();
  driver = new FakeDriver();
  if (engineAway) driver.health.set(CAUSE);
  agent = await startAgent(agentConfig(url, runId, overrides), driver);
  await waitFor('hello', () => scheduler.hellos.length > 0);
}

afterEach(async () => {
  await agent?.stop();
  await scheduler?.close();
  agent = null;
});

const statuses = (taskId: string) => scheduler.of('task.status', taskId).map((f) => f.status);
const readiness = () => scheduler.of('heartbeat').at(-1)?.readiness;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('an agent whose engine goes away', () => {
  it('says at once that it is not ready, and why, and that it is ready again when the engine is back', async () => {
    await start();
    expect(scheduler.hellos[0]).toMatchObject({ readiness: { ready: true, reason: null } });
    expect(scheduler.hellos[0]!.recovering).toBeUndefined();
    driver.health.set(CAUSE);
    await waitFor('not ready', () => readiness()?.ready === false);
    expect(readiness()).toEqual({ ready: false, reason: `fake engine unreachable: ${CAUSE}` });
    driver.health.set(null);
    await waitFor('ready again', () => readiness()?.ready === true);
    expect(readiness()).toEqual({ ready: true, reason: null });
  });

  it('holds a task assigned while its engine is away (PENDING, said in its log) and starts it once the engine is back', async () => {
    await start();
    driver.health.set(CAUSE);
    const task = spec(runId);
    scheduler.assign(task);
    await waitFor('waiting line', () => scheduler.lines(task.taskId, 'system').some((l) => l.startsWith('Waiting for the fake engine')));
    expect(scheduler.lines(task.taskId, 'system')).toContain(`Waiting for the fake engine (unreachable: ${CAUSE}); the task starts once it answers`);
    await sleep(300);
    expect(new Set(statuses(task.taskId))).toEqual(new Set(['PENDING']));
    expect(scheduler.exits.has(task.taskId)).toBe(false);
    expect(driver.starts).toEqual([]);

    driver.health.set(null);
    await waitFor('running', () => statuses(task.taskId).includes('RUNNING'));
    driver.tasks.get(task.taskId)!.end(0);
    const exited = await waitFor('exit', () => scheduler.exits.get(task.taskId));
    expect(exited).toMatchObject({ stopCode: 'EXITED', exitCode: 0 });
    expect(driver.starts).toEqual([task.taskId]);
  });

  it('holds a task whose start failed because the engine went away under it, and starts it again (one task)', async () => {
    await start();
    const task = spec(runId);
    // The agent does not know yet: the engine goes away in the middle of the start.
    driver.beforeStart = () => {
      driver.beforeStart = null;
      driver.health.set(CAUSE);
    };
    scheduler.assign(task);
    await waitFor('held', () => scheduler.lines(task.taskId, 'system').some((l) => l.startsWith('Waiting for the fake engine')));
    expect(scheduler.exits.has(task.taskId)).toBe(false);
    driver.health.set(null);
    await waitFor('running', () => statuses(task.taskId).includes('RUNNING'));
    expect(driver.starts).toEqual([task.taskId, task.taskId]);
    expect(driver.tasks.size).toBe(1);
    driver.tasks.get(task.taskId)!.end(0);
    expect(await waitFor('exit', () => scheduler.exits.get(task.taskId))).toMatchObject({ stopCode: 'EXITED', exitCode: 0 });
  });

  it('fails a held task after TAPIT_AGENT_ENGINE_WAIT_SECONDS with a reason that names the engine', async () => {
    await start({ engineWaitSeconds: 1 });
    driver.health.set(CAUSE);
    const task = spec(runId);
    scheduler.assign(task);
    const exited = await waitFor('exit', () => scheduler.exits.get(task.taskId), 10_000);
    expect(exited).toMatchObject({ stopCode: 'FAILED_TO_START', exitCode: null, reason: `the fake engine was unreachable for 1 s (${CAUSE})` });
    expect(driver.starts).toEqual([]);
  });

  it('ends a held task that is stopped with that stop; it never starts', async () => {
    await start();
    driver.health.set(CAUSE);
    const task = spec(runId);
    scheduler.assign(task);
    await waitFor('held', () => scheduler.lines(task.taskId, 'system').some((l) => l.startsWith('Waiting for the fake engine')));
    scheduler.send({ type: 'task.stop', taskId: task.taskId, stopCode: 'USER_STOPPED', reason: 'stopped by ci', graceSeconds: 1 });
    const exited = await waitFor('exit', () => scheduler.exits.get(task.taskId), 10_000);
    expect(exited).toMatchObject({ stopCode: 'USER_STOPPED', reason: 'stopped by ci', exitCode: null, startedAt: null });
    driver.health.set(null);
    await sleep(200);
    expect(driver.starts).toEqual([]);
  });
});

describe('an agent started while its engine is away', () => {
  it('connects anyway, not ready and recovering, takes no task, and dials again once it has recovered', async () => {
    await start({}, true);
    expect(scheduler.hellos[0]).toMatchObject({ recovering: true, readiness: { ready: false, reason: `fake engine unreachable: ${CAUSE}` } });
    const task = spec(runId);
    scheduler.assign(task);
    await sleep(300);
    expect(scheduler.of('task.accepted', task.taskId)).toEqual([]);

    driver.health.set(null);
    await waitFor('second hello', () => scheduler.hellos.length === 2, 10_000);
    expect(scheduler.hellos[1]!.recovering).toBeUndefined();
    expect(scheduler.hellos[1]!.readiness).toEqual({ ready: true, reason: null });
    // The scheduler sends what the first connection left aside again; now it is taken.
    scheduler.assign(task);
    await waitFor('accepted', () => scheduler.of('task.accepted', task.taskId).length > 0);
  });
});
