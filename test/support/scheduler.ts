import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanEnv, REPO_ROOT, terminate } from './repo.js';

export interface RunningScheduler {
  url: string;
  port: number;
  /** The admin token given as TAPIT_BOOTSTRAP_TOKEN. */
  token: string;
  dataDir: string;
  process: ChildProcess;
  /** Everything the scheduler printed so far, for failure messages. */
  output(): string;
  stop(): Promise<void>;
  /** SIGKILL (a crash: nothing is closed or flushed), then removes its data folder as stop() does. */
  kill(): Promise<void>;
}

/** A free loopback port (the OS picks it; a tiny race with other processes is accepted). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export interface SchedulerOptions {
  /** A Postgres URL (TAPIT_DATABASE_URL) instead of the embedded database. */
  databaseUrl?: string;
  /** Listen here instead of a free port: to start a scheduler again where its agents dial. */
  port?: number;
  /** The bootstrap token; by default a fresh one. Give the old one when starting again on the same database. */
  token?: string;
}

/**
 * Starts the built `tapit-scheduler` with an embedded database in a fresh folder (or on
 * `options.databaseUrl`) and waits for `GET /healthz` to answer 200. `env` adds or overrides
 * settings (e.g. TAPIT_AGENT_JOIN_TOKEN).
 */
export async function startScheduler(env: Record<string, string> = {}, options: SchedulerOptions = {}): Promise<RunningScheduler> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tapit-scheduler-'));
  const port = options.port ?? (await freePort());
  const token = options.token ?? `test-${randomBytes(16).toString('hex')}`;
  const database: Record<string, string> = options.databaseUrl === undefined ? {} : { TAPIT_DATABASE_URL: options.databaseUrl };
  const child = spawn(process.execPath, [join(REPO_ROOT, 'packages/scheduler/bin/tapit-scheduler.js')], {
    cwd: REPO_ROOT,
    // The human lines, as on a terminal: tests and their failure messages read them (piped, the
    // scheduler would write JSON; test/e2e/observability.test.ts checks that with `json`).
    env: cleanEnv({ TAPIT_LOG_FORMAT: 'pretty', TAPIT_DATA_DIR: dataDir, TAPIT_PORT: String(port), TAPIT_HOST: '127.0.0.1', TAPIT_BOOTSTRAP_TOKEN: token, ...database, ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await terminate(child, exited);
    await rm(dataDir, { recursive: true, force: true });
  };
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    await waitForHealth(url, exited, 30_000);
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n--- scheduler output ---\n${output}`);
  }
  return { url, port, token, dataDir, process: child, output: () => output, stop, kill };
}

async function waitForHealth(url: string, exited: Promise<number | null>, timeoutMs: number): Promise<void> {
  let gone: number | null | undefined;
  void exited.then((code) => (gone = code));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (gone !== undefined) throw new Error(`the scheduler exited with code ${gone} before it was healthy`);
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the scheduler was not healthy at ${url}/healthz within ${timeoutMs} ms`);
}
