/*
 * RELIABILITY.md scenarios 10 and 18: PostgreSQL restarted under load. A private PostgreSQL of
 * this test's own (never the shared cluster) is stopped with `pg_ctl -m fast` (every session
 * ends with 57P01) for longer than the agents' lost grace, while two scheduler replicas share
 * it, an agent floods a task's log, a follower reads it through the other replica, a console is
 * open and the CLI creates tasks. Then the database comes back and everything must carry on.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogPage, Task, TaskList } from '@tapit/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, TEST_IMAGE, type RunningAgent } from '../support/agent.js';
import { cliEnv, runCli, startCli, type CliResult } from '../support/cli.js';
import { openConsoleSocket } from '../support/console-socket.js';
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres.js';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { startScheduler, type RunningScheduler } from '../support/scheduler.js';
import { appLines } from '../support/system.js';

const FLOOD_BATCHES = 40;
const FLOOD_BATCH_LINES = 100;
const FLOOD_LINES = FLOOD_BATCHES * FLOOD_BATCH_LINES;
/** Numbered lines, a batch every 0.3 s: the flood spans the whole outage. */
const FLOOD = `i=0; b=0; while [ $b -lt ${FLOOD_BATCHES} ]; do b=$((b+1)); j=0; while [ $j -lt ${FLOOD_BATCH_LINES} ]; do i=$((i+1)); j=$((j+1)); echo "line $i"; done; sleep 0.3; done`;
/** Longer than the agents' lost grace (4 s): the pause must not make any task AGENT_LOST. */
const OUTAGE_MS = 6000;
/** What the scheduler answers during an outage, as the CLI prints it. */
const DATABASE_UNAVAILABLE = /^Error: the scheduler's database is unavailable \(.+\); retry in 2 s$/m;

let postgres: PrivatePostgres;
let replicas: RunningScheduler[] = [];
let agent: RunningAgent;
let configHome: string;
const agentName = `faults-${randomBytes(4).toString('hex')}`;
const startedAt = new Date();

const env = (replica: RunningScheduler) => ({ ...cliEnv(replica, configHome), TAPIT_APP: 'web' });
const tapit = (replica: RunningScheduler, ...args: string[]) => runCli(args, { env: env(replica), timeoutMs: 60_000 });
const output = () => `${replicas.map((r, i) => `--- replica ${i + 1} ---\n${r.output()}`).join('\n')}\n--- agent ---\n${agent?.output() ?? ''}`;

async function api(replica: RunningScheduler, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(`${replica.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${replica.token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${output()}`);
    await sleep(200);
  }
}

/** Polls /healthz of every replica until stopped: what each answered, and when. */
function sampleHealth() {
  const samples: { replica: number; status: number; body: string; at: number }[] = [];
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      await Promise.all(
        replicas.map(async (replica, i) => {
          const response = await fetch(`${replica.url}/healthz`, { signal: AbortSignal.timeout(5000) }).catch(() => null);
          if (response) samples.push({ replica: i, status: response.status, body: await response.text(), at: Date.now() });
        }),
      );
      await sleep(100);
    }
  })();
  return {
    samples,
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}

/** Several `tapit create task` at once, spread over the replicas. */
function createWave(tag: string, count = 3): Promise<CliResult[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => tapit(replicas[i % replicas.length]!, 'create', 'task', `echo ${tag}-${i}`)));
}

/** The task's whole log, page by page. */
async function wholeLog(replica: RunningScheduler, taskId: string): Promise<LogPage['lines']> {
  const lines: LogPage['lines'] = [];
  let after = 0;
  for (;;) {
    const page = LogPage.parse((await api(replica, 'GET', `/v1/tasks/${taskId}/logs?after=${after}&limit=10000`)).json);
    lines.push(...page.lines);
    if (page.lines.length === 0) return lines;
    after = page.last;
  }
}

/** How many containers the agent created for each task since the test began (by Docker's events). */
function containersCreated(): Map<string, number> {
  const text = execFileSync('docker', [
    'events',
    '--since',
    String(Math.floor(startedAt.getTime() / 1000) - 1),
    '--until',
    String(Math.ceil(Date.now() / 1000) + 1),
    '--filter',
    'type=container',
    '--filter',
    'event=create',
    '--filter',
    `label=tapit.agent=${agentName}`,
    '--format',
    '{{index .Actor.Attributes "tapit.task-id"}}',
  ]).toString();
  const counts = new Map<string, number>();
  for (const id of text.split('\n').filter(Boolean)) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

beforeAll(async () => {
  postgres = await startPrivatePostgres();
  configHome = await mkdtemp(join(tmpdir(), 'tapit-faults-cli-'));
  const joinToken = `join-${randomBytes(16).toString('hex')}`;
  const settings = {
    TAPIT_AGENT_JOIN_TOKEN: joinToken,
    TAPIT_HEARTBEAT_INTERVAL_MS: '1000',
    TAPIT_AGENT_LOST_GRACE_SECONDS: '4',
    TAPIT_POLL_INTERVAL_MS: '100',
  };
  const first = await startScheduler(settings, { databaseUrl: postgres.url });
  replicas.push(first);
  replicas.push(await startScheduler(settings, { databaseUrl: postgres.url, token: first.token }));
  agent = await startAgent(first, joinToken, agentName);
  const created = await tapit(first, 'create', 'app', 'web', `image=${TEST_IMAGE}`);
  if (created.code !== 0) throw new Error(`create app: ${created.stderr}`);
}, HOOK_TIMEOUT_MS);

afterAll(async () => {
  await agent?.stop();
  for (const replica of replicas) await replica.stop();
  await postgres?.destroy();
  if (configHome) await rm(configHome, { recursive: true, force: true });
}, HOOK_TIMEOUT_MS);

describe('PostgreSQL restarted under load, two scheduler replicas', () => {
  it('no replica exits; requests answer 503 DATABASE_UNAVAILABLE or succeed; nothing is lost, doubled or marked lost', async () => {
    const [first, second] = replicas as [RunningScheduler, RunningScheduler];

    // A task flooding its log, followed through the replica its agent is not connected to.
    const flood = await tapit(first, 'create', 'task', FLOOD);
    expect(flood.code, flood.stderr).toBe(0);
    const floodId = /^ID:\s+([0-9a-f]{32})$/m.exec(flood.stdout)![1]!;
    const follower = startCli(['show', 'logs', `task=${floodId}`, '--follow'], { env: env(second), timeoutMs: 120_000 });

    // A console, open through the replica its agent is connected to.
    const consoleTask = await api(first, 'POST', '/v1/projects/default/stages/default/apps/web/tasks', { args: ['sh'], kind: 'interactive' });
    expect(consoleTask.status, JSON.stringify(consoleTask.json)).toBe(201);
    const consoleId = Task.parse(consoleTask.json).id;
    await until('the console task to run', async () => ((await api(first, 'GET', `/v1/tasks/${consoleId}`)).json.status === 'RUNNING' ? true : undefined));
    const terminal = await openConsoleSocket(first, consoleId);
    terminal.type('echo before-$((1+1))\r');
    await until('the console to answer', async () => (/before-2/.test(terminal.screen()) ? true : undefined), 20_000);
    await follower.waitFor(/\[app\] line 300$/m);

    // The outage: creates in flight as it begins, more while it lasts, a console in use.
    const health = sampleHealth();
    const inFlight = createWave('in-flight');
    await postgres.stop('fast');
    const stoppedAt = Date.now();
    const during = await createWave('during');
    terminal.type('echo during-$((3+3))\r');
    await until('the console to answer without its database', async () => (/during-6/.test(terminal.screen()) ? true : undefined), 10_000);
    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - stoppedAt)));
    const outageEnded = Date.now();
    await postgres.start();
    const after = await createWave('after');
    const waves = [...(await inFlight), ...during, ...after];

    terminal.type('echo after-$((2+2))\r');
    await until('the console to answer after the outage', async () => (/after-4/.test(terminal.screen()) ? true : undefined), 20_000);
    terminal.type('exit\r');
    await terminal.closed;
    await health.stop();

    // No replica exited, and none logged a stack trace for the database going away.
    for (const replica of replicas) expect(replica.process.exitCode ?? replica.process.signalCode, output()).toBeNull();
    expect(output()).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);

    // Each create succeeded or was refused as retryable, with a clear line. The CLI sends a create
    // refused with 503 again with its Idempotency-Key (saying so once) before it gives up.
    for (const result of waves) {
      if (result.code === 0) expect(result.stdout).toMatch(/^ID:\s+[0-9a-f]{32}$/m);
      else {
        expect(result.code, result.stderr).toBe(1);
        const lines = result.stderr.trim().split('\n');
        expect(lines.at(-1)).toMatch(DATABASE_UNAVAILABLE);
        expect(lines.slice(0, -1).every((line) => /^Create not confirmed .*Idempotency-Key/.test(line)), result.stderr).toBe(true);
        expect(lines.length).toBeLessThanOrEqual(2);
      }
    }
    expect(during.every((r) => r.code !== 0), 'creates while the database is stopped cannot succeed').toBe(true);

    // /healthz said 503, with the reason, on both replicas while the database was gone; 200 after.
    for (const i of [0, 1]) {
      const down = health.samples.filter((s) => s.replica === i && s.at > stoppedAt + 500 && s.at < outageEnded);
      expect(down.length, `replica ${i + 1} answered /healthz during the outage`).toBeGreaterThan(0);
      for (const sample of down) {
        expect(sample.status).toBe(503);
        expect(JSON.parse(sample.body).error.code).toBe('DATABASE_UNAVAILABLE');
      }
    }
    for (const replica of replicas) {
      await until('/healthz to answer 200 again', async () => ((await fetch(`${replica.url}/healthz`)).status === 200 ? true : undefined), 20_000);
      expect((await fetch(`${replica.url}/livez`)).status).toBe(200);
    }

    // The follower saw every numbered line once, in order, and ended with the task.
    const followed = await follower.result;
    expect(followed.code, followed.stderr).toBe(0);
    expect(appLines(followed.stdout)).toEqual(Array.from({ length: FLOOD_LINES }, (_, i) => `line ${i + 1}`));

    // Every task ends once, as itself: none AGENT_LOST, each in one container.
    const tasks = await until('every task to end', async () => {
      const list = TaskList.parse((await api(first, 'GET', '/v1/tasks?limit=100')).json).items;
      return list.every((t) => t.status === 'STOPPED') ? list : undefined;
    });
    const createdIds = waves.filter((r) => r.code === 0).map((r) => /^ID:\s+([0-9a-f]{32})$/m.exec(r.stdout)![1]!);
    for (const id of [floodId, consoleId, ...createdIds]) expect(tasks.map((t) => t.id)).toContain(id);
    for (const task of tasks) {
      expect({ id: task.id, stopCode: task.stopCode, exitCode: task.exitCode }).toEqual({ id: task.id, stopCode: 'EXITED', exitCode: 0 });
    }
    const containers = containersCreated();
    for (const task of tasks) expect({ task: task.id, containers: containers.get(task.id) ?? 0 }).toEqual({ task: task.id, containers: 1 });
    for (const task of tasks) {
      const stops = (await wholeLog(second, task.id)).filter((l) => l.stream === 'system' && l.text.startsWith('Task status is STOPPED'));
      expect({ task: task.id, stops: stops.length }).toEqual({ task: task.id, stops: 1 });
    }

    // The stored log: every numbered line once, in order.
    const stored = (await wholeLog(second, floodId)).filter((l) => l.stream !== 'system').map((l) => l.text);
    expect(stored).toEqual(Array.from({ length: FLOOD_LINES }, (_, i) => `line ${i + 1}`));

    // The console's recording kept what passed while the database was away.
    const sessions = (await api(first, 'GET', `/v1/tasks/${consoleId}/consoles`)).json.items as { id: string; closedAt: string | null; endReason: string }[];
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({ endReason: 'exited' });
    const recording = await fetch(`${first.url}/v1/consoles/${sessions[0]!.id}/recording`, { headers: { authorization: `Bearer ${first.token}` } });
    const cast = await recording.text();
    for (const marker of ['before-2', 'during-6', 'after-4']) expect(cast).toContain(marker);
  }, 150_000);
});
