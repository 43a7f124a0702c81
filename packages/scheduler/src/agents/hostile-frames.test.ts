import { AgentCloseCode, type Task } from '@tapit/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProtocolAgent } from '../testing/protocol-agent.js';
import { APP_PATH } from '../testing/test-app.js';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';
import { JOIN_TOKEN, startTestScheduler } from '../testing/test-scheduler.js';

const now = () => new Date().toISOString();
const usage = { peakMemoryBytes: 1, cpuSeconds: 0, diskBytes: 0 };

/*
 * Frames found by test/fuzz/agent-frames.test.ts that the scheduler could not take: each must
 * close only its own connection as a bad frame (4400), not fail inside it (1011, "internal
 * error"), and leave nothing half-written.
 */
describe('agent frames the database cannot hold', () => {
  let database: TestDatabase;
  let scheduler: Awaited<ReturnType<typeof startTestScheduler>>;
  const log: string[] = [];
  const agents: ProtocolAgent[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('postgres', { migrated: false });
    scheduler = await startTestScheduler(database, {}, (line) => log.push(line));
    await scheduler.call('POST', APP_PATH, { name: 'web', image: 'web:1' });
  });
  afterAll(async () => {
    for (const agent of agents) agent.close();
    await scheduler.close();
    await database.drop();
  });

  /** An agent of its own that holds a RUNNING task. */
  async function agentWithTask(name: string): Promise<{ agent: ProtocolAgent; task: Task }> {
    const agent = await ProtocolAgent.connect(scheduler.url, JOIN_TOKEN);
    agents.push(agent);
    await agent.hello(name);
    // More CPU than the earlier tests' agents (1, still connected) have, less than this one's
    // (4): only it can take the task.
    const created = await scheduler.call('POST', `${APP_PATH}/web/tasks`, { command: 'true', cpu: 2 });
    const task = created.body as Task;
    await agent.next('task.assign').catch(async (error: Error) => {
      // Say where the task went (a CI run once saw no assignment here, and nothing more).
      const now = task.id ? (await scheduler.call('GET', `/v1/tasks/${task.id}`)).body : null;
      throw new Error(`${error.message}; the create answered ${created.status}, the task is now ${JSON.stringify(now)}`);
    });
    agent.send({ type: 'task.status', taskId: task.id, status: 'RUNNING', at: now() });
    return { agent, task };
  }

  // Found by test/fuzz/agent-frames.test.ts: a connection that said hello and went away before
  // the welcome stayed in the gateway's sessions, listed online, and was handed tasks it never got.
  it('a hello from a connection that is gone before its welcome leaves no session behind', async () => {
    const agent = await ProtocolAgent.connect(scheduler.url, JOIN_TOKEN);
    agent.send({ type: 'hello', protocolVersion: 1, agentName: 'ghost', agentVersion: 'x', capacity: { cpu: 64, memoryGb: 512 }, tasks: [] , credential: agent.credential });
    agent.socket.terminate();
    await agent.closed;
    // The hello is handled after the close was seen: its row appears, and must end offline.
    let ghost: { status: string } | undefined;
    for (const deadline = Date.now() + 5_000; Date.now() < deadline && ghost?.status !== 'offline'; await new Promise((r) => setTimeout(r, 50))) {
      ghost = ((await scheduler.call('GET', '/v1/agents')).body.items as { name: string; status: string }[]).find((a) => a.name === 'ghost');
    }
    expect(ghost?.status).toBe('offline');
    const task = (await scheduler.call('POST', `${APP_PATH}/web/tasks`, { command: 'true', cpu: 32 })).body as Task;
    await new Promise((r) => setTimeout(r, 500));
    expect(((await scheduler.call('GET', `/v1/tasks/${task.id}`)).body as Task).status).toBe('PROVISIONING');
  });

  it('a hello whose agent version holds a NUL byte is welcomed, the version stored without it', async () => {
    const agent = await ProtocolAgent.connect(scheduler.url, JOIN_TOKEN);
    agents.push(agent);
    agent.send({ type: 'hello', protocolVersion: 1, agentName: 'nul-version', agentVersion: 'v1\u0000x', capacity: { cpu: 1, memoryGb: 1 }, tasks: [] , credential: agent.credential });
    await agent.next('welcome');
    const listed = (await scheduler.call('GET', '/v1/agents')).body.items as { name: string; version: string }[];
    expect(listed.find((a) => a.name === 'nul-version')?.version).toBe('v1\uFFFDx');
  });

  // Found by the agent-frames fuzzer: the reason went to the database as it came, and Postgres
  // refused the NUL byte inside the hello and the heartbeat (1011, "internal error").
  it('a readiness reason holding a NUL byte is taken in a hello and in a heartbeat', async () => {
    const agent = await ProtocolAgent.connect(scheduler.url, JOIN_TOKEN);
    agents.push(agent);
    const readiness = { ready: false, reason: 'engine\u0000down' };
    agent.send({ type: 'hello', protocolVersion: 1, agentName: 'nul-reason', agentVersion: 'x', capacity: { cpu: 1, memoryGb: 1 }, tasks: [], readiness , credential: agent.credential });
    await agent.next('welcome');
    agent.send({ type: 'heartbeat', at: now(), readiness: { ready: false, reason: 'still\u0000down' } });
    // A second hello is refused as a bad frame: the heartbeat before it was handled without failing.
    agent.send({ type: 'hello', protocolVersion: 1, agentName: 'nul-reason', agentVersion: 'x', capacity: { cpu: 1, memoryGb: 1 }, tasks: [] , credential: agent.credential });
    expect((await agent.next('refused')).message).toBe('hello was already sent');
    expect((await agent.closed).code).toBe(AgentCloseCode.badFrame);
    expect(log.filter((line) => line.includes('agent connection error'))).toEqual([]);
  });

  it('an exit code past 32 bits is a bad frame, and the task stays as it was', async () => {
    const { agent, task } = await agentWithTask('big-exit');
    agent.send({ type: 'task.exited', taskId: task.id, stopCode: 'EXITED', exitCode: 2 ** 53 - 1, reason: null, usage, startedAt: now(), finishedAt: now(), lastSeq: 0 });
    expect((await agent.closed).code).toBe(AgentCloseCode.badFrame);
    expect(log.filter((line) => line.includes('agent connection error'))).toEqual([]);
    expect(((await scheduler.call('GET', `/v1/tasks/${task.id}`)).body as Task).status).toBe('RUNNING');
  });
});
