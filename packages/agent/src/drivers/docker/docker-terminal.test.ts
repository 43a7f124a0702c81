import type { Duplex } from 'node:stream';
import Docker from 'dockerode';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTestContainers, testRunId, TEST_IMAGE } from '../../testing/docker-fixtures.js';
import { waitFor } from '../../testing/fake-scheduler.js';
import { DockerTerminal } from './docker-terminal.js';

const runId = testRunId();
const docker = new Docker();

afterAll(() => removeTestContainers(runId));

async function ttyContainer(): Promise<Docker.Container> {
  return docker.createContainer({
    Image: TEST_IMAGE,
    Cmd: ['sh'],
    Tty: true,
    OpenStdin: true,
    StdinOnce: false,
    NetworkDisabled: true,
    Labels: { 'tapit.test': runId },
  });
}

describe('DockerTerminal', () => {
  it('holds output from before the first reader, and attaches again when the engine drops the stream', async () => {
    const container = await ttyContainer();
    const terminal = await DockerTerminal.attach(container);
    await container.start();
    terminal.write(Buffer.from('echo early-$((1+1))\r'));
    await new Promise((r) => setTimeout(r, 500));
    let out = '';
    terminal.onOutput((chunk) => (out += chunk.toString()));
    expect(out).toContain('early-2');
    // Cut the link as a daemon hiccup would; the program runs on and the terminal comes back.
    (terminal as unknown as { stream: Duplex }).stream.destroy();
    await new Promise((r) => setTimeout(r, 300));
    terminal.write(Buffer.from('echo again-$((2+2))\r'));
    await waitFor('output after the re-attach', () => out.includes('again-4'), 10_000);
    terminal.write(Buffer.from('exit 3\r'));
    await terminal.closed;
    expect((await container.inspect()).State.ExitCode).toBe(3);
  });

  it('is closed once the program ends, without waiting for retries', async () => {
    const container = await ttyContainer();
    const terminal = await DockerTerminal.attach(container);
    await container.start();
    terminal.onOutput(() => undefined);
    const t0 = Date.now();
    terminal.write(Buffer.from('exit 0\r'));
    await terminal.closed;
    expect(Date.now() - t0).toBeLessThan(1500);
  });
});
