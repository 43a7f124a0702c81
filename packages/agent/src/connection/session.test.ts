import { afterEach, describe, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../agent.js';
import { agentConfig, testRunId } from '../testing/docker-fixtures.js';
import { FakeScheduler, waitFor, type FakeSchedulerOptions } from '../testing/fake-scheduler.js';

const runId = testRunId();
let scheduler: FakeScheduler | null = null;
let agent: RunningAgent | null = null;

async function connect(options: FakeSchedulerOptions) {
  scheduler = new FakeScheduler(options);
  const url = await scheduler.listen();
  agent = await startAgent(agentConfig(url, runId));
  return scheduler;
}

afterEach(async () => {
  await agent?.stop();
  await scheduler?.close();
  agent = scheduler = null;
});

describe('agent connection', () => {
  it('says hello with the bearer token, then sends a heartbeat every interval', async () => {
    const s = await connect({ heartbeatIntervalMs: 200 });
    await waitFor('hello', () => s.hellos.length === 1);
    expect(s.authHeaders).toEqual(['Bearer test-token']);
    expect(s.hellos[0]!.credential).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await new Promise((r) => setTimeout(r, 1100));
    const beats = s.of('heartbeat').length;
    expect(beats).toBeGreaterThanOrEqual(4);
    expect(beats).toBeLessThanOrEqual(7);
    expect(s.connections).toBe(1);
  });

  it('closes the connection on a bad frame and dials again', async () => {
    const s = await connect({ heartbeatIntervalMs: 1000 });
    await waitFor('hello', () => s.hellos.length === 1);
    s.send({ type: 'task.assign', task: { taskId: 'not-an-id' } });
    await waitFor('second connection', () => s.connections === 2 && s.hellos.length === 2, 15_000);
  });

  it('treats a scheduler silent for three intervals (no ping, no frame) as gone and redials', async () => {
    const s = await connect({ heartbeatIntervalMs: 300, ping: false });
    await waitFor('hello', () => s.hellos.length === 1);
    const t0 = Date.now();
    await waitFor('redial', () => s.connections === 2, 15_000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(600);
  });

  it('stays connected while the scheduler pings', async () => {
    const s = await connect({ heartbeatIntervalMs: 300, ping: true });
    await waitFor('hello', () => s.hellos.length === 1);
    await new Promise((r) => setTimeout(r, 2000));
    expect(s.connections).toBe(1);
  });

  it('answers console.open for a task it does not hold by dialing back with an error, keeping the control link', async () => {
    const s = await connect({ heartbeatIntervalMs: 1000 });
    await waitFor('hello', () => s.hellos.length === 1);
    const sessionId = 'c'.repeat(32);
    s.send({ type: 'console.open', sessionId, taskId: 'd'.repeat(32), mode: 'exec', command: ['sh'], tty: true, size: { cols: 80, rows: 24 }, openedBy: 'alice' });
    const dial = await waitFor('dial-back', () => s.consoleDialBacks.find((d) => d.messages.length > 0), 10_000);
    expect(dial.path).toBe(`/v1/agents/consoles/${sessionId}`);
    expect(dial.auth).toBe(`Bearer ${s.hellos[0]!.credential}`); // its own credential, never the join token
    expect(JSON.parse(dial.messages[0]!)).toMatchObject({ type: 'error', message: expect.stringContaining('is not held by agent') });
    expect(s.connections).toBe(1);
  });

  it('exits non-zero when refused for an unsupported protocol version', async () => {
    const s = await connect({ refuse: 'UNSUPPORTED_PROTOCOL_VERSION' });
    const code = await agent!.done;
    expect(code).toBe(1);
    expect(s.connections).toBe(1);
  });

  it('retries later when refused for another reason', async () => {
    const s = await connect({ refuse: 'NAME_IN_USE' });
    await waitFor('retries', () => s.connections >= 3, 15_000);
  });
});
