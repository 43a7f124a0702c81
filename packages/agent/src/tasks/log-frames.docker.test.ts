import { countLines } from '@tapit/protocol';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../agent.js';
import { agentConfig, containersOf, removeTestContainers, spec, testRunId } from '../testing/docker-fixtures.js';
import { FakeScheduler, waitFor, type FakeSchedulerOptions } from '../testing/fake-scheduler.js';

// How a task's lines travel to schedulers that take chunks and to those from before them.
const runId = testRunId();
let scheduler: FakeScheduler | undefined;
let agent: RunningAgent | undefined;

async function connect(options: FakeSchedulerOptions = {}): Promise<FakeScheduler> {
  scheduler = new FakeScheduler({ heartbeatIntervalMs: 1000, ...options });
  agent = await startAgent(agentConfig(await scheduler.listen(), runId));
  await waitFor('hello', () => scheduler!.hellos.length > 0);
  return scheduler;
}

afterEach(async () => {
  await agent?.stop();
  await scheduler?.close();
});
afterAll(() => removeTestContainers(runId));

const numbers = (n: number) => Array.from({ length: n }, (_, i) => String(i + 1));

describe('log frames', () => {
  it('sends task.log.chunk to a scheduler that takes them, each chunk going on from the last', async () => {
    const fake = await connect();
    const task = spec(runId, { script: 'seq 1 20000; echo done >&2' });
    fake.assign(task);
    await waitFor('exit', () => fake.exits.get(task.taskId), 60_000);
    expect(fake.lines(task.taskId, 'stdout')).toEqual(numbers(20000));
    expect(fake.lines(task.taskId, 'stderr')).toEqual(['done']);
    const chunks = fake.of('task.log.chunk', task.taskId);
    let next = 1;
    for (const chunk of chunks) {
      expect(chunk.seq).toBe(next);
      next += countLines(chunk.runs);
    }
    expect(next - 1).toBe(fake.storedSeq(task.taskId));
    expect(chunks.length).toBeLessThan(100); // runs of lines, not a frame or object per line
    expect(fake.of('task.log', task.taskId)).toEqual([]);
  });

  it('sends task.log, an object per line, to a scheduler from before chunks', async () => {
    // This fake fails the test if it is sent a task.log.chunk.
    const fake = await connect({ logChunks: false });
    const task = spec(runId, { script: 'seq 1 3000' });
    fake.assign(task);
    await waitFor('exit', () => fake.exits.get(task.taskId), 60_000);
    expect(fake.lines(task.taskId, 'stdout')).toEqual(numbers(3000));
    expect(fake.of('task.log', task.taskId).length).toBeGreaterThan(0);
  });

  it('keeps at most two frames waiting for acks; the lines printed meanwhile go together in the next', async () => {
    const fake = await connect({ autoAck: false });
    const task = spec(runId, { script: 'for i in $(seq 1 30); do echo $i; sleep 0.02; done' });
    fake.assign(task);
    await waitFor('two frames', () => fake.of('task.log.chunk', task.taskId).length >= 2);
    // The task ends with nothing acked, and the agent has read all it printed.
    const ended = async () => {
      const [info] = (await containersOf(runId)).filter((c) => c.Labels['tapit.task-id'] === task.taskId);
      return info !== undefined && info.State !== 'running';
    };
    await waitFor('the container to end', ended, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(fake.of('task.log.chunk', task.taskId)).toHaveLength(2);
    fake.ack(task.taskId);
    const third = await waitFor('a third frame', () => fake.of('task.log.chunk', task.taskId)[2]);
    expect(third.seq + countLines(third.runs) - 1).toBe(30); // every line left
    fake.autoAck = true;
    fake.ack(task.taskId);
    await waitFor('exit', () => fake.exits.get(task.taskId), 30_000);
    expect(fake.lines(task.taskId, 'stdout')).toEqual(numbers(30));
  });
});
