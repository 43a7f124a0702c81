import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './scheduler.js';

export interface RegistryUser {
  username: string;
  password: string;
}

export interface RunningRegistry {
  /** `127.0.0.1:PORT`, to prefix image names with (Docker trusts loopback registries over plain HTTP). */
  host: string;
  /** Pushes a local image to it, logged in as its user when it has one (a Docker config of its own, never the machine's). */
  push(ref: string): Promise<void>;
  pid: number;
  output(): string;
  stop(): Promise<void>;
}

/** A bcrypt hash, the only kind distribution's htpasswd reads (Python's crypt, from libxcrypt). */
function bcrypt(password: string): string {
  const script = 'import crypt, sys; print(crypt.crypt(sys.stdin.read(), crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))';
  const hash = execFileSync('python3', ['-W', 'ignore', '-c', script], { input: password, encoding: 'utf8' }).trim();
  if (!hash.startsWith('$2')) throw new Error(`python3 made no bcrypt hash: ${hash}`);
  return hash;
}

/**
 * Starts Debian's `docker-registry` (distribution 2.x) as a process on a free loopback port with
 * a temporary storage folder, and waits until `GET /v2/` answers. With `user`, it asks for that
 * user's basic auth (htpasswd). `stop()` ends that process by its PID and removes the folder.
 */
export async function startRegistry(options: { user?: RegistryUser } = {}): Promise<RunningRegistry> {
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
      ...(options.user ? ['auth:', '  htpasswd:', '    realm: tapit-test', `    path: ${join(dir, 'htpasswd')}`] : []),
      '',
    ].join('\n'),
  );
  if (options.user) await writeFile(join(dir, 'htpasswd'), `${options.user.username}:${bcrypt(options.user.password)}\n`);
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
  const push = async (ref: string) => {
    const config = join(dir, 'docker-config');
    const env = { ...process.env, DOCKER_CONFIG: config };
    const docker = (args: string[], input?: string) =>
      new Promise<void>((resolve, reject) => {
        const child = spawn('docker', args, { env, stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        if (input !== undefined) child.stdin?.end(input);
        child.once('error', reject);
        child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`docker ${args.join(' ')} failed: ${stderr.trim()}`))));
      });
    if (options.user) await docker(['login', host, '-u', options.user.username, '--password-stdin'], options.user.password);
    await docker(['push', '-q', ref]);
  };
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && child.exitCode === null) {
    const response = await fetch(`http://${host}/v2/`).catch(() => null);
    // 401 is a registry asking for credentials: up all the same.
    if (response?.status === 200 || (options.user && response?.status === 401)) return { host, push, pid: child.pid!, output: () => output, stop };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stop();
  throw new Error(`docker-registry did not answer at http://${host}/v2/\n--- registry output ---\n${output}`);
}
