import type { Task } from '@tapit/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProtocolAgent } from '../testing/protocol-agent.js';
import { APP_PATH } from '../testing/test-app.js';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';
import { JOIN_TOKEN, startTestScheduler } from '../testing/test-scheduler.js';

// One clock: the scheduler's. Agents read it from the welcome and from answers to their
// heartbeats, and convert what they report; what a skew leaves over is bounded here.

const TEN_MINUTES = 600_000;
const iso = (ms: number) => new Date(ms).toISOString();

describe("the scheduler's clock for agents", () => {
  let database: TestDatabase;
  let scheduler: Awaited<ReturnType<typeof startTestScheduler>>;
  beforeEach(async () => {
    database = await createTestDatabase('postgres', { migrated: false });
    scheduler = await startTestScheduler(database);
    await scheduler.call('POST', APP_PATH, { name: 'web', image: 'web:1' });
  });
  afterEach(async () => {
    await scheduler.close();
    await database.drop();
  });

  it('gives its clock in the welcome, and answers heartbeats of agents that ask for it', async () => {
    const before = Date.now();
    const agent = await ProtocolAgent.connect(scheduler.url, JOIN_TOKEN);
    const welcome = await agent.hello('alpha', { heartbeatAcks: true });
    const after = Date.now();
    const { receivedAt, sentAt } = welcome.clock!;
    expect(Date.parse(receivedAt)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(sentAt)).toBeGreaterThanOrEqual(Date.parse(receivedAt));
    expect(Date.parse(sentAt)).toBeLessThanOrEqual(after);
    const at = iso(Date.now() + TEN_MINUTES); // the agent's own clock, echoed
    agent.send({ type: 'heartbeat', at });
    const ack = await agent.next('heartbeat.ack');
    expect(ack.at).toBe(at);
    expect(Date.parse(ack.clock.sentAt)).toBeLessThanOrEqual(Date.now());

    // An agent that did not ask (an older one) gets no frame it would not understand.
    const old = await ProtocolAgent.connect(scheduler.url, JOIN_TOKEN);
    await old.hello('beta');
    old.send({ type: 'heartbeat', at });
    old.send({ type: 'heartbeat', at });
    await new Promise((r) => setTimeout(r, 300));
    expect(old.pending().map((f) => f.type)).toEqual([]);
    agent.close();
    old.close();
  });

  it.each([
    ['ahead', TEN_MINUTES],
    ['behind', -TEN_MINUTES],
  ])('keeps the times of an agent whose clock is 10 minutes %s (and that did not correct them) in order and never in the future', async (_how, skew) => {
    const agent = await ProtocolAgent.connect(scheduler.url, JOIN_TOKEN);
    await agent.hello('skewed');
    const created = (await scheduler.call('POST', `${APP_PATH}/web/tasks`, { command: 'true' })).body as Task;
    await agent.next('task.assign');
    const agentNow = () => iso(Date.now() + skew);
    agent.send({ type: 'task.status', taskId: created.id, status: 'RUNNING', at: agentNow() });
    agent.send({ type: 'task.log', taskId: created.id, seq: 1, lines: [{ stream: 'stdout', text: 'hi', at: agentNow() }] });
    await agent.next('task.log.ack');
    agent.send({ type: 'task.exited', taskId: created.id, stopCode: 'EXITED', exitCode: 0, reason: null, usage: { peakMemoryBytes: null, cpuSeconds: null, diskBytes: null }, startedAt: agentNow(), finishedAt: agentNow(), lastSeq: 1 });
    await agent.next('task.log.ack');
    const checked = Date.now();
    const task = (await scheduler.call('GET', `/v1/tasks/${created.id}`)).body as Task;
    expect(task.status).toBe('STOPPED');
    const created_ = Date.parse(task.createdAt);
    const started = Date.parse(task.startedAt!);
    const finished = Date.parse(task.finishedAt!);
    expect(started).toBeGreaterThanOrEqual(created_);
    expect(finished).toBeGreaterThanOrEqual(started);
    expect(finished).toBeLessThanOrEqual(checked);
    const lines = (await scheduler.call('GET', `/v1/tasks/${created.id}/logs`)).body.lines as { at: string; text: string }[];
    const statusTimes = lines.filter((l) => l.text.startsWith('Task status is')).map((l) => Date.parse(l.at));
    expect(statusTimes).toEqual([...statusTimes].sort((a, b) => a - b));
    for (const line of lines) expect(Date.parse(line.at), line.text).toBeLessThanOrEqual(checked);
    agent.close();
  });
});
