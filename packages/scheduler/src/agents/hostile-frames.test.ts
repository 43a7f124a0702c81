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
    const task = (await scheduler.call('POST', `${APP_PATH}/web/tasks`, { command: 'true' })).body as Task;
    await agent.next('task.assign');
    agent.send({ type: 'task.status', taskId: task.id, status: 'RUNNING', at: now() });
    return { agent, task };
  }

  it('an exit code past 32 bits is a bad frame, and the task stays as it was', async () => {
    const { agent, task } = await agentWithTask('big-exit');
    agent.send({ type: 'task.exited', taskId: task.id, stopCode: 'EXITED', exitCode: 2 ** 53 - 1, reason: null, usage, startedAt: now(), finishedAt: now(), lastSeq: 0 });
    expect((await agent.closed).code).toBe(AgentCloseCode.badFrame);
    expect(log.filter((line) => line.includes('agent connection error'))).toEqual([]);
    expect(((await scheduler.call('GET', `/v1/tasks/${task.id}`)).body as Task).status).toBe('RUNNING');
  });
});
