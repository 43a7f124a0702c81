import { afterAll, describe, expect, it } from 'vitest';
import { removeTestContainers, spec, testRunId } from '../../testing/docker-fixtures.js';
import type { DriverTask } from '../driver.js';
import { DockerDriver } from './docker-driver.js';

// How the Docker driver hands a container's output on, on the real engine.
const runId = testRunId();
const driver = new DockerDriver({ agentName: `agent-${runId}`, network: 'none' });
afterAll(() => removeTestContainers(runId));

const noHooks = { onSystemLine: () => undefined, onCreated: () => undefined };

/** Everything `streamOutput` hands on from the start, call by call (characters of text per call). */
async function readAll(task: DriverTask): Promise<{ calls: number[]; lines: string[] }> {
  const calls: number[] = [];
  const lines: string[] = [];
  await task.streamOutput(null, (runs) => {
    let chars = 0;
    for (const run of runs) {
      chars += run.text.length;
      lines.push(...run.text.slice(0, -1).split('\n'));
    }
    calls.push(chars);
  });
  return { calls, lines };
}

describe('a container output read after its end', () => {
  it('comes in pieces as the engine sends it, not as one buffer of the whole log', async () => {
    // A flood the agent had not caught up with when the container stopped is read by the last,
    // unfollowed pass: 16 MiB handed on in one call held the agent's event loop for seconds
    // (20 s in bench/flood), long enough for its scheduler link to drop.
    const line = '0'.repeat(199);
    const count = 80_000;
    const task = await driver.start(spec(runId, { script: `yes ${line} | head -n ${count}` }), noHooks);
    try {
      await task.wait();
      const { calls, lines } = await readAll(task);
      expect(lines).toHaveLength(count);
      expect(lines.every((text) => text === line)).toBe(true);
      expect(calls.length).toBeGreaterThan(4);
      expect(Math.max(...calls)).toBeLessThan(4 * 1024 * 1024);
    } finally {
      await task.destroy();
    }
  });

  it("keeps the last line of a program that ended without a line break", async () => {
    const task = await driver.start(spec(runId, { script: "printf 'first\\nlast without a line break'; printf 'and on stderr' >&2" }), noHooks);
    try {
      await task.wait();
      const { lines } = await readAll(task);
      expect(lines.sort()).toEqual(['and on stderr', 'first', 'last without a line break']);
    } finally {
      await task.destroy();
    }
  });
});
