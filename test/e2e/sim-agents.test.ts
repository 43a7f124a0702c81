import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentList, Task } from '@tapit/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The simulated agents bench/scale.mjs measures placement with: checked here against the real
// scheduler on real Postgres, so what the benchmark counts is real placement.
import { exitCodeOf, startSimAgents } from '../../bench/sim-agents.mjs';
import { cliEnv, runCli } from '../support/cli.js';
import { createDatabase, type FreshDatabase } from '../support/postgres.js';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { startScheduler, type RunningScheduler } from '../support/scheduler.js';

const AGENTS = 6;
const HEARTBEAT_MS = 300;
const joinToken = `join-${randomBytes(16).toString('hex')}`;
const prefix = `sim-${randomBytes(3).toString('hex')}`;
let db: FreshDatabase;
let scheduler: RunningScheduler;
let configHome: string;
let sims: Awaited<ReturnType<typeof startSimAgents>>;

beforeAll(async () => {
  db = await createDatabase();
  scheduler = await startScheduler({ TAPIT_AGENT_JOIN_TOKEN: joinToken, TAPIT_HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS) }, { databaseUrl: db.url });
  configHome = await mkdtemp(join(tmpdir(), 'tapit-sim-cli-'));
  // Room for two default tasks (0.5 GB each) per agent; each task "runs" 200 ms.
  sims = await startSimAgents({ url: scheduler.url, joinToken, count: AGENTS, prefix, capacity: { cpu: 1, memoryGb: 1 }, runMs: 200 });
}, HOOK_TIMEOUT_MS);

afterAll(async () => {
  await sims?.close();
  await scheduler?.stop();
  await db?.drop();
  if (configHome) await rm(configHome, { recursive: true, force: true });
}, HOOK_TIMEOUT_MS);

const headers = () => ({ authorization: `Bearer ${scheduler.token}`, 'content-type': 'application/json' });
async function api(method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${scheduler.url}${path}`, { method, headers: headers(), body: body === undefined ? undefined : JSON.stringify(body) });
  const json: unknown = await response.json();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}\n${scheduler.output()}`);
  return json;
}
const tapit = (...args: string[]) => runCli(args, { env: { ...cliEnv(scheduler, configHome), TAPIT_APP: 'sim' } });

async function until<T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value).slice(0, 2000)}\n${scheduler.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('simulated agents (bench/sim-agents.mjs) on a real scheduler and Postgres', () => {
  it('reads the exit code a command asks for', () => {
    expect(exitCodeOf(['sh', '-c', 'exit 3'])).toBe(3);
    expect(exitCodeOf(['sh', '-c', 'echo hi; exit 42'])).toBe(42);
    expect(exitCodeOf(['true'])).toBe(0);
  });

  it('join with the join token and stay online through heartbeats, as the CLI lists them', async () => {
    // Ten heartbeat intervals: a silent connection is closed after three.
    await new Promise((r) => setTimeout(r, 10 * HEARTBEAT_MS));
    const listed = await tapit('list', 'agents', '--json');
    expect(listed.code, listed.stderr).toBe(0);
    const ours = AgentList.parse(JSON.parse(listed.stdout)).items.filter((a) => a.name.startsWith(`${prefix}-`));
    expect(ours.map((a) => a.name).sort()).toEqual(sims.agents.map((a) => a.name).sort());
    expect(ours.every((a) => a.status === 'online')).toBe(true);
    expect(sims.agents.every((a) => a.welcomed && a.socket?.readyState === 1)).toBe(true);
  });

  it('accept tasks created through the API, run them and report the exit code their command asks for', async () => {
    await api('POST', '/v1/projects/default/stages/default/apps', { name: 'sim', image: 'sim/none:1' });
    // More tasks than the agents have room for at once (2 each): placement goes on as they exit.
    const codes = Array.from({ length: AGENTS * 3 }, (_, i) => i % 5);
    const ids: string[] = [];
    for (const code of codes) {
      const task = Task.parse(await api('POST', '/v1/projects/default/stages/default/apps/sim/tasks', { command: `exit ${code}` }));
      ids.push(task.id);
    }
    const ended = await until(
      'every task stopped',
      async () => Promise.all(ids.map(async (id) => Task.parse(await api('GET', `/v1/tasks/${id}`)))),
      (tasks) => tasks.every((t) => t.status === 'STOPPED'),
    );
    for (const [i, task] of ended.entries()) {
      expect(task.stopCode, JSON.stringify(task)).toBe('EXITED');
      expect(task.exitCode).toBe(codes[i]);
      expect(task.agent?.startsWith(`${prefix}-`)).toBe(true);
      expect(task.startedAt).not.toBeNull();
    }
    // Each task was assigned once, to the agent the scheduler says ran it, and spread over several.
    expect(sims.assigned().sort()).toEqual([...ids].sort());
    for (const task of ended) expect(sims.agents.find((a) => a.name === task.agent)!.assigned).toContain(task.id);
    expect(new Set(ended.map((t) => t.agent)).size).toBeGreaterThan(1);
    // As a user sees it.
    const shown = await tapit('show', 'task', `task=${ids[3]}`, '--json');
    expect(shown.code, shown.stderr).toBe(0);
    expect(Task.parse(JSON.parse(shown.stdout))).toMatchObject({ status: 'STOPPED', exitCode: 3 });
  });

  it('end a task on task.stop as the agent reports it', async () => {
    const long = await startSimAgents({ url: scheduler.url, joinToken, count: 1, prefix: `${prefix}-long`, capacity: { cpu: 1, memoryGb: 1 }, runMs: Infinity });
    try {
      // The short-running agents say they are not ready (as a real one whose engine is away), so
      // that the task goes to the one that holds it until stopped: placement waits for readiness,
      // which the benchmark relies on to queue its tasks.
      sims.setReady(false);
      await until('the agents not ready', async () => AgentList.parse(await api('GET', '/v1/agents')).items.filter((a) => a.name.startsWith(`${prefix}-`) && !a.name.includes('long') && a.ready === false).length, (n) => n === AGENTS);
      const task = Task.parse(await api('POST', '/v1/projects/default/stages/default/apps/sim/tasks', { command: 'sleep 600' }));
      await until('the task running', async () => Task.parse(await api('GET', `/v1/tasks/${task.id}`)), (t) => t.status === 'RUNNING');
      expect(long.assigned()).toEqual([task.id]);
      await api('POST', `/v1/tasks/${task.id}/stop`);
      const stopped = await until('the task stopped', async () => Task.parse(await api('GET', `/v1/tasks/${task.id}`)), (t) => t.status === 'STOPPED');
      expect(stopped.stopCode).toBe('USER_STOPPED');
      expect(long.agents[0]!.tasks.size).toBe(0);
    } finally {
      sims.setReady(true);
      await long.close();
    }
  });
});
