import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import type { TaskSpec } from '@tapit/protocol';
import { startAgent, type RunningAgent } from '../../agent.js';
import { agentConfig, removeTestContainers, spec, TEST_IMAGE, testRunId } from '../../testing/docker-fixtures.js';
import { FakeScheduler, waitFor } from '../../testing/fake-scheduler.js';

// A second task from the same image reference starts without the image's inspect (known-images.ts);
// a reference moved to another image since, or removed, is found as the engine has it now.
const runId = testRunId();
const docker = new Docker();
const repo = `tapit-test/known-${runId}`;
const ref = `${repo}:1`;
let scheduler: FakeScheduler;
let agent: RunningAgent;

beforeAll(async () => {
  await docker.getImage(TEST_IMAGE).tag({ repo, tag: '1' });
  scheduler = new FakeScheduler({ heartbeatIntervalMs: 1000 });
  agent = await startAgent(agentConfig(await scheduler.listen(), runId));
  await waitFor('hello', () => scheduler.hellos.length > 0);
});

afterAll(async () => {
  await agent?.stop();
  await scheduler?.close();
  await removeTestContainers(runId);
  // Only this test's own reference (and the image it made), never the shared test image.
  await docker.getImage(ref).remove({ force: true }).catch(() => undefined);
});

async function run(t: TaskSpec) {
  scheduler.assign(t);
  const exit = await waitFor(`exit of ${t.taskId}`, () => scheduler.exits.get(t.taskId), 60_000);
  const digest = scheduler.of('task.status', t.taskId).find((s) => s.status === 'RUNNING')?.imageDigest;
  return { exit, digest, stdout: scheduler.lines(t.taskId, 'stdout') };
}

/** `ref` made to name a new image: the test image with PROBE set and a VOLUME at /data. */
async function moveReference(): Promise<string> {
  const source = await docker.createContainer({ Image: TEST_IMAGE, Cmd: ['true'], Labels: { 'tapit.test': runId } });
  const made = (await source.commit({ repo, tag: '1', changes: ['ENV PROBE=moved', 'VOLUME /data'] })) as { Id: string };
  return made.Id;
}

const probe = 'echo "probe=$PROBE"; grep " /data " /proc/mounts | cut -d" " -f3 || true';

describe('an image reference started from before', () => {
  it('is checked against the created container: one moved to another image starts from that image, with its VOLUMEs', async () => {
    const first = await run(spec(runId, { image: ref, script: probe }));
    expect(first.exit).toMatchObject({ stopCode: 'EXITED', exitCode: 0 });
    expect(first.stdout).toEqual(['probe=']);
    const original = (await docker.getImage(TEST_IMAGE).inspect()).Id;
    expect(first.digest).toBe(original);

    const moved = await moveReference();
    const second = await run(spec(runId, { image: ref, script: probe }));
    expect(second.exit).toMatchObject({ stopCode: 'EXITED', exitCode: 0 });
    // Its digest and its mounts are the new image's: the image's VOLUME gets the task's tmpfs,
    // which the old facts (no VOLUME) would have left out.
    expect(second.digest).toBe(moved);
    expect(second.stdout).toEqual(['probe=moved', 'tmpfs']);

    // Known now: a third start from it has the same.
    const third = await run(spec(runId, { image: ref, script: probe }));
    expect(third.digest).toBe(moved);
    expect(third.stdout).toEqual(['probe=moved', 'tmpfs']);
  });

  it('that was removed since is looked for again, as the pull policy says', async () => {
    const t = spec(runId, { image: ref, script: 'true' });
    expect((await run(t)).exit).toMatchObject({ stopCode: 'EXITED', exitCode: 0 });
    await docker.getImage(ref).remove({ force: true });
    const gone = await run(spec(runId, { image: ref, script: 'true', pullPolicy: 'never' }));
    expect(gone.exit).toMatchObject({ stopCode: 'FAILED_TO_START', exitCode: null });
    expect(gone.exit.reason).toMatch(/is not on this agent's Docker engine, and the app's pull policy is never/);
  });
});
