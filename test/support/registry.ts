import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './scheduler.js';

export interface RunningRegistry {
  /** `127.0.0.1:PORT`, to prefix image names with (Docker trusts loopback registries over plain HTTP). */
  host: string;
  pid: number;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts Debian's `docker-registry` (distribution 2.x) as a process on a free loopback port with
 * a temporary storage folder, and waits until `GET /v2/` answers. `stop()` ends that process by
 * its PID and removes the folder.
 */
export async function startRegistry(): Promise<RunningRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'tapit-e2e-registry-'));
  const port = await freePort();
  const config = join(dir, 'config.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'data')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', (error) => (output += `spawn error: ${error.message}\n`));
  const stop = async () => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid, 'SIGTERM');
      const timer = setTimeout(() => child.pid !== undefined && child.exitCode === null && process.kill(child.pid, 'SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  const host = `127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && child.exitCode === null) {
    const response = await fetch(`http://${host}/v2/`).catch(() => null);
    if (response?.status === 200) return { host, pid: child.pid!, output: () => output, stop };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stop();
  throw new Error(`docker-registry did not answer at http://${host}/v2/\n--- registry output ---\n${output}`);
}
