import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A Docker engine of a test's own, for faults that must not touch the shared one: its own
 * socket, data root, exec root and pidfile, no bridge, no iptables. It is stopped and started
 * only by its PID. Point an agent at it with `DOCKER_HOST: engine.host`.
 */
export interface PrivateDockerd {
  /** `unix:///tmp/…/docker.sock`, for DOCKER_HOST and `docker -H`. */
  host: string;
  /** Runs the docker CLI against this engine; a non-zero exit rejects with its stderr. */
  docker(...args: string[]): Promise<string>;
  /** Whether the daemon process is running. */
  readonly running: boolean;
  /** Starts the daemon (again) on the same folders and waits until it answers. */
  start(options?: { liveRestore?: boolean }): Promise<void>;
  /**
   * Ends the daemon and waits for it to exit. SIGTERM is a clean stop (`systemctl stop docker`:
   * it stops its containers first); SIGKILL a crash of the whole engine, dockerd and the
   * containerd it runs (containers live on in their shims until the next start ends them, or
   * keeps them with live restore).
   */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Everything the daemon logged, for failure messages. */
  log(): string;
  /** Stops the daemon with its containers and removes its folders. */
  destroy(): Promise<void>;
}

/** Starts a private dockerd and loads `images` (from the shared engine) into it. */
export async function startPrivateDockerd(options: { images?: string[] } = {}): Promise<PrivateDockerd> {
  // A short folder: a unix socket path must stay under ~107 bytes.
  const dir = await mkdtemp('/tmp/tapit-dockerd-');
  const socket = join(dir, 'docker.sock');
  const host = `unix://${socket}`;
  const logFile = join(dir, 'dockerd.log');
  // Own containerd namespaces too, in case this host runs a system containerd both engines use.
  const namespace = `tapit-test-${randomBytes(4).toString('hex')}`;
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();

  const docker = async (...args: string[]) => {
    try {
      return (await run('docker', ['-H', host, ...args], { maxBuffer: 16 * 1024 * 1024 })).stdout;
    } catch (error) {
      const e = error as { stderr?: string; message: string };
      throw new Error(`docker -H ${host} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
    }
  };

  const engine: PrivateDockerd = {
    host,
    docker,
    get running() {
      return child !== null;
    },
    async start(startOptions = {}) {
      if (child) throw new Error('the private dockerd is already running');
      const out = openSync(logFile, 'a');
      const args = [
        '-H', host,
        '--data-root', join(dir, 'data'),
        '--exec-root', join(dir, 'exec'),
        '--pidfile', join(dir, 'docker.pid'),
        '--bridge=none',
        '--iptables=false',
        '--ip6tables=false',
        '--containerd-namespace', namespace,
        '--containerd-plugins-namespace', `${namespace}-plugins`,
        ...(startOptions.liveRestore ? ['--live-restore'] : []),
      ];
      const started = spawn('dockerd', args, { stdio: ['ignore', out, out] });
      closeSync(out);
      child = started;
      exited = new Promise((resolve) => started.once('exit', () => resolve()));
      void exited.then(() => {
        if (child === started) child = null;
      });
      const deadline = Date.now() + 30_000;
      while (!(await answers(socket))) {
        if (child !== started || Date.now() > deadline) {
          throw new Error(`the private dockerd did not start\n${engine.log()}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async stop(signal = 'SIGTERM') {
      const current = child;
      if (!current) return;
      current.kill(signal);
      await exited;
      // A killed dockerd takes its containerd along (parent-death signal), but the dead containerd
      // stays a zombie until init reaps it, and a next start that finds its pid file thinks it
      // still runs and waits on its socket until it gives up. Make sure it is dead, then forget it.
      if (signal === 'SIGKILL') {
        const pidFile = join(dir, 'exec', 'containerd', 'containerd.pid');
        const containerd = readPid(pidFile);
        if (containerd !== null) await killAndWait(containerd);
        await rm(pidFile, { force: true });
      }
    },
    log() {
      try {
        return readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    },
    async destroy() {
      // A crashed engine's containers still run in their shims: start it once to end them.
      if (!child) await engine.start().catch(() => undefined);
      if (child) {
        const ids = (await docker('ps', '-aq').catch(() => '')).split('\n').filter(Boolean);
        if (ids.length > 0) await docker('rm', '-f', ...ids).catch(() => undefined);
        await engine.stop('SIGTERM');
      }
      // An engine stopped with live restore leaves its data root mounted on itself.
      for (const mount of mountsUnder(dir)) await run('umount', ['-l', mount]).catch(() => undefined);
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    },
  };

  try {
    await engine.start();
    for (const image of options.images ?? []) await loadImage(image, host);
  } catch (error) {
    await engine.destroy();
    throw error;
  }
  return engine;
}

/** `docker save IMAGE | docker -H HOST load`: no registry needed. */
async function loadImage(image: string, host: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const save = spawn('docker', ['save', image], { stdio: ['ignore', 'pipe', 'pipe'] });
    const load = spawn('docker', ['-H', host, 'load', '-q'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let errors = '';
    save.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    load.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    save.stdout.pipe(load.stdin);
    load.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`loading ${image} failed: ${errors.trim()}`))));
  });
}

/** Mount points inside `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((path) => path.startsWith(`${dir}/`));
  return mounts.sort((a, b) => b.length - a.length);
}

function readPid(file: string): number | null {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** SIGKILLs a process this engine started, if it still runs, and waits until it is dead (a zombie at most). */
async function killAndWait(pid: number): Promise<void> {
  // A zombie is dead: only init, which inherited it, can reap it.
  const alive = () => {
    try {
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(pid, 'SIGKILL');
  while (alive()) await new Promise((resolve) => setTimeout(resolve, 50));
}

/** Whether an engine answers `GET /_ping` on this socket. */
function answers(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath: socket, path: '/_ping', agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}
