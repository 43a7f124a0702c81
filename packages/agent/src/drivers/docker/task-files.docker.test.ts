import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskSpec } from '@tapit/protocol';
import { startAgent, type RunningAgent } from '../../agent.js';
import { agentConfig, removeTestContainers, spec, testRunId } from '../../testing/docker-fixtures.js';
import { FakeScheduler, waitFor } from '../../testing/fake-scheduler.js';

// A task's files (`--file`), written into its container before it starts, on the real engine.
const runId = testRunId();
let scheduler: FakeScheduler;
let agent: RunningAgent;

beforeAll(async () => {
  scheduler = new FakeScheduler({ heartbeatIntervalMs: 1000 });
  agent = await startAgent(agentConfig(await scheduler.listen(), runId));
  await waitFor('hello', () => scheduler.hellos.length > 0);
});

afterAll(async () => {
  await agent?.stop();
  await scheduler?.close();
  await removeTestContainers(runId);
});

async function run(t: TaskSpec) {
  scheduler.assign(t);
  return waitFor(`exit of ${t.taskId}`, () => scheduler.exits.get(t.taskId), 60_000);
}

const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('a task\'s files', () => {
  it('are in the container when it starts: parent folders made, owned by root, with their modes', async () => {
    const longPath = `/deep/${'d'.repeat(120)}/file.txt`;
    const t = spec(runId, {
      script: `stat -c '%a %u:%g %n' /app/conf/fix.rb /usr/local/bin/run-me ${longPath} /app/conf; cat /app/conf/fix.rb; /usr/local/bin/run-me; cat ${longPath}`,
      files: [
        { path: '/app/conf/fix.rb', mode: 0o640, content: b64('puts 1\n') },
        { path: '/usr/local/bin/run-me', mode: 0o755, content: b64('#!/bin/sh\necho ran\n') },
        { path: longPath, mode: 0o644, content: b64('long\n') },
      ],
    });
    const exit = await run(t);
    expect(exit.reason).toBeNull();
    expect(exit).toMatchObject({ stopCode: 'EXITED', exitCode: 0 });
    expect(scheduler.lines(t.taskId, 'stdout')).toEqual([
      '640 0:0 /app/conf/fix.rb',
      '755 0:0 /usr/local/bin/run-me',
      `644 0:0 ${longPath}`,
      '755 0:0 /app/conf',
      'puts 1',
      'ran',
      'long',
    ]);
  });

  it('that cannot be written fail the start with the reason (a read-only root filesystem)', async () => {
    const t = spec(runId, { script: 'cat /app/fix.rb', readOnly: true, files: [{ path: '/app/fix.rb', mode: 0o644, content: b64('x') }] });
    const exit = await run(t);
    expect(exit).toMatchObject({ stopCode: 'FAILED_TO_START', exitCode: null });
    expect(exit.reason).toMatch(/writing the task's files \(\/app\/fix\.rb\) failed: .*read-only/i);
  });
});
