// Shared by the benchmarks: start a scheduler and an agent from the built binaries, time
// commands, and summarise samples. Every figure is printed beside its bare-Docker baseline
// measured in the same run (BENCHMARKS.md).
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** BENCH_BIN_ROOT: another built checkout whose binaries to measure (e.g. main, for a before/after). */
export const BIN = (name) => join(process.env.BENCH_BIN_ROOT ?? ROOT, 'node_modules', '.bin', name);

/**
 * `tapit ARGS` as a user types it, as [command, args, env] for timeCommand or spawn: the launcher
 * npm installs (packages/cli/bin/tapit), which runs the CLI with the `node` first on PATH, here
 * the one running the benchmark. With `nodeArgs` (a profiler's flags, which Node refuses in
 * NODE_OPTIONS) the CLI's entry beside the launcher is run by that node directly.
 */
export function tapitCli(args, env = {}, nodeArgs = []) {
  const path = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`;
  if (nodeArgs.length === 0) return [BIN('tapit'), args, { ...env, PATH: path }];
  const launcher = realpathSync(BIN('tapit'));
  // A checkout from before the launcher links bin/tapit.js itself.
  const entry = launcher.endsWith('.js') ? launcher : `${launcher}.cjs`;
  return [process.execPath, [...nodeArgs, entry, ...args], { ...env, PATH: path }];
}

export function startProcess(command, args, env) {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  return { child, output: () => output, stop: () => new Promise((r) => (child.exitCode !== null ? r() : (child.once('exit', r), child.kill('SIGTERM')))) };
}

/**
 * Scheduler (embedded unless TAPIT_DATABASE_URL is set) + one agent, on a random port.
 * `schedulerEnv` and `agentEnv` add to their environments; `schedulerNodeArgs` and `agentNodeArgs`
 * go to node before the program (e.g. `--cpu-prof`, which NODE_OPTIONS may not carry).
 * `launcher` goes before node (e.g. packages/scheduler/bin/embedded-heap.sh, as the quick start runs it).
 * `restartScheduler(between)` stops the scheduler, runs `between`, and starts it again on the
 * same database and port; the agent reconnects by itself.
 */
export async function startTapit({ schedulerEnv = {}, agentEnv = {}, schedulerNodeArgs = [], agentNodeArgs = [], launcher = [] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'tapit-bench-'));
  const admin = `bench-${randomBytes(12).toString('hex')}`;
  const join_ = `join-${randomBytes(12).toString('hex')}`;
  const port = String(20000 + Math.floor(Math.random() * 20000));
  const url = `http://127.0.0.1:${port}`;
  const headers = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
  const startScheduler = async () => {
    const [command, ...args] = [...launcher, process.execPath, ...schedulerNodeArgs, BIN('tapit-scheduler')];
    const scheduler = startProcess(command, args, {
      TAPIT_DATA_DIR: join(dir, 'scheduler'), TAPIT_PORT: port, TAPIT_BOOTSTRAP_TOKEN: admin, TAPIT_AGENT_JOIN_TOKEN: join_, ...schedulerEnv,
    });
    // The embedded database's first start runs initdb: slow on a busy machine.
    await waitFor(async () => (await fetch(`${url}/healthz`).catch(() => null))?.ok, 120_000, () => scheduler.output());
    return scheduler;
  };
  const agentOnline = (agent) => waitFor(async () => (await (await fetch(`${url}/v1/agents`, { headers })).json()).items.some((a) => a.status === 'online'), 60_000, () => agent.output());
  let scheduler = await startScheduler();
  const agent = startProcess(process.execPath, [...agentNodeArgs, BIN('tapit-agent')], {
    TAPIT_SCHEDULER_URL: url, TAPIT_AGENT_TOKEN: join_, TAPIT_AGENT_NAME: 'bench', TAPIT_AGENT_STATE_DIR: join(dir, 'agent'), TAPIT_AGENT_NETWORK: 'none', ...agentEnv,
  });
  await agentOnline(agent);
  return {
    url,
    token: admin,
    headers,
    dir,
    /** Everything the scheduler and the agent printed so far. */
    schedulerOutput: () => scheduler.output(),
    agentOutput: () => agent.output(),
    /** The scheduler process's pid (it changes at a restart). */
    schedulerPid: () => scheduler.child.pid,
    async restartScheduler(between = async () => {}) {
      await scheduler.stop();
      await between();
      scheduler = await startScheduler();
      await agentOnline(agent);
    },
    stop: async () => { await agent.stop(); await scheduler.stop(); },
  };
}

export async function waitFor(check, timeoutMs, describe) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting${describe ? `:\n${describe()}` : ''}`);
}

/**
 * Runs a command; resolves with the time to its exit and, if `marker` is given, to the first
 * stdout line containing it. Fails on a non-zero exit.
 */
export function timeCommand(command, args, env, marker) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let firstLineMs = null;
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (marker && firstLineMs === null && out.includes(marker)) firstLineMs = Number(process.hrtime.bigint() - started) / 1e6;
    });
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => {
      const totalMs = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0) reject(new Error(`${command} ${args.join(' ')} exited ${code}:\n${out}`));
      else resolve({ totalMs, firstLineMs });
    });
  });
}

export function summarise(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return { n: sorted.length, median: at(0.5), p90: at(0.9), p99: at(0.99) };
}

export function printRow(label, tapit, docker) {
  const t = summarise(tapit);
  const d = summarise(docker);
  const f = (x) => `${x.toFixed(0).padStart(6)} ms`;
  console.log(`${label.padEnd(28)} tapit median ${f(t.median)} p90 ${f(t.p90)} p99 ${f(t.p99)} | docker median ${f(d.median)} p90 ${f(d.p90)} p99 ${f(d.p99)} | ratio ${(t.median / d.median).toFixed(2)} (n=${t.n})`);
}

/**
 * A scheduler alone (no agent) from the built binary, on a random port: its embedded database in
 * a fresh folder unless `env` sets TAPIT_DATABASE_URL (an empty value unsets one inherited from
 * the shell). BENCH_SCHEDULER_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) profiles it;
 * BENCH_SCHEDULER_BIN runs another build (a copy of packages/scheduler inside the repository).
 */
export async function startScheduler(env = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'tapit-bench-'));
  const token = env.TAPIT_BOOTSTRAP_TOKEN ?? `bench-${randomBytes(12).toString('hex')}`;
  const port = String(20000 + Math.floor(Math.random() * 20000));
  const url = `http://127.0.0.1:${port}`;
  const dataDir = join(dir, 'scheduler');
  const nodeArgs = (process.env.BENCH_SCHEDULER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const scheduler = startProcess(process.execPath, [...nodeArgs, process.env.BENCH_SCHEDULER_BIN ?? BIN('tapit-scheduler')], { TAPIT_DATA_DIR: dataDir, TAPIT_PORT: port, TAPIT_BOOTSTRAP_TOKEN: token, ...env });
  // The embedded database's first start runs initdb: slow on a busy machine.
  await waitFor(async () => (await fetch(`${url}/healthz`).catch(() => null))?.ok, 120_000, () => scheduler.output());
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  return { url, token, headers, dataDir, pid: scheduler.child.pid, output: scheduler.output, stop: scheduler.stop };
}

/**
 * The scheduler's database for a benchmark: embedded (no `adminUrl`), or a fresh Postgres
 * database made through `adminUrl` (a role that may create databases) and dropped by `close()`.
 * `connect()` opens a client of it (`pg`) for the benchmark's own queries.
 */
export async function openBenchDatabase(adminUrl) {
  if (!adminUrl) return { kind: 'embedded', url: undefined, close: async () => {} };
  const { default: pg } = await import(join(ROOT, 'node_modules/pg/lib/index.js'));
  const name = `tapit_bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    kind: 'postgres',
    url: url.toString(),
    pg: null,
    async connect() {
      this.pg = new pg.Client({ connectionString: url.toString() });
      await this.pg.connect();
    },
    async close() {
      await this.pg?.end();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

/** Bytes of the files below `dir`, e.g. the embedded database's folder. */
export function dirBytes(dir) {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? dirBytes(path) : statSync(path).size;
  }
  return total;
}
