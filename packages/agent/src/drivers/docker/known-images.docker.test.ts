import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import type { TaskSpec } from '@tapit/protocol';
import { removeTestContainers, spec, TEST_IMAGE, testRunId } from '../../testing/docker-fixtures.js';
import { DockerDriver } from './docker-driver.js';

// A second task from the same image reference starts without the image's inspect (known-images.ts);
// a reference moved to another image since, or removed, is found as the engine has it now.
const runId = testRunId();
const docker = new Docker();
const repo = `tapit-test/known-${runId}`;
const ref = `${repo}:1`;

/** The real engine, counting the inspects of `ref` the driver makes. */
class CountingDocker extends Docker {
  inspects = 0;
  override getImage(name: string): Docker.Image {
    const image = super.getImage(name);
    const inspect = image.inspect.bind(image) as (...args: unknown[]) => Promise<Docker.ImageInspectInfo>;
    if (name === ref) image.inspect = ((...args: unknown[]) => (this.inspects++, inspect(...args))) as typeof image.inspect;
    return image;
  }
}
const engine = new CountingDocker();
const driver = new DockerDriver({ agentName: `agent-${runId}`, network: 'none', docker: engine });

beforeAll(async () => {
  await docker.getImage(TEST_IMAGE).tag({ repo, tag: '1' });
});

afterAll(async () => {
  await removeTestContainers(runId);
  // Only this test's own reference (and the image it made), never the shared test image.
  await docker.getImage(ref).remove({ force: true }).catch(() => undefined);
});

/** Starts `t` to its end: its digest as the driver saved it, its exit code and its output lines. */
async function run(t: TaskSpec) {
  let digest: string | null = null;
  const task = await driver.start(t, { onSystemLine: () => undefined, onCreated: (_, d) => (digest = d) });
  try {
    const lines: string[] = [];
    await task.streamOutput(null, (runs) => lines.push(...runs.flatMap((r) => r.text.slice(0, -1).split('\n'))));
    const end = await task.wait();
    return { digest, exitCode: end.exitCode, lines };
  } finally {
    await task.destroy();
  }
}

/** `ref` made to name a new image: the test image with PROBE set and a VOLUME at /data. */
async function moveReference(): Promise<string> {
  const source = await docker.createContainer({ Image: TEST_IMAGE, Cmd: ['true'], Labels: { 'tapit.test': runId } });
  const made = (await source.commit({ repo, tag: '1', changes: ['ENV PROBE=moved', 'VOLUME /data'] })) as { Id: string };
  return made.Id;
}

const probe = 'echo "probe=$PROBE"; grep " /data " /proc/mounts | cut -d" " -f3 || true';

describe('an image reference started from before', () => {
  it('is not inspected again, but checked against the created container: one moved to another image starts from that image, with its VOLUMEs', async () => {
    // The test image is imported, not pulled: it has no repo digest, so its digest is its id.
    const original = (await docker.getImage(TEST_IMAGE).inspect()).Id;
    const first = await run(spec(runId, { image: ref, script: probe }));
    expect(first).toMatchObject({ exitCode: 0, lines: ['probe='], digest: original });
    expect(engine.inspects).toBe(1);
    // Known now: the second start from it does not inspect it.
    const second = await run(spec(runId, { image: ref, script: probe }));
    expect(second).toMatchObject({ exitCode: 0, lines: ['probe='], digest: original });
    expect(engine.inspects).toBe(1);

    const moved = await moveReference();
    const third = await run(spec(runId, { image: ref, script: probe }));
    // Its digest and its mounts are the new image's: the image's VOLUME gets the task's tmpfs,
    // which the old facts (no VOLUME) would have left out.
    expect(third).toMatchObject({ exitCode: 0, lines: ['probe=moved', 'tmpfs'], digest: moved });
    expect(engine.inspects).toBe(2);
    const fourth = await run(spec(runId, { image: ref, script: probe }));
    expect(fourth).toMatchObject({ exitCode: 0, lines: ['probe=moved', 'tmpfs'], digest: moved });
    expect(engine.inspects).toBe(2);
  });

  it('that was removed since is looked for again, as the pull policy says', async () => {
    expect((await run(spec(runId, { image: ref, script: 'true' }))).exitCode).toBe(0);
    await docker.getImage(ref).remove({ force: true });
    await expect(driver.start(spec(runId, { image: ref, script: 'true', pullPolicy: 'never' }), { onSystemLine: () => undefined, onCreated: () => undefined })).rejects.toThrow(
      /is not on this agent's Docker engine, and the app's pull policy is never/,
    );
  });
});
