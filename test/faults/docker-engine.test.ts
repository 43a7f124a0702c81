import { AgentList } from '@tapit/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TEST_IMAGE } from '../support/agent.js';
import { startPrivateDockerd, type PrivateDockerd } from '../support/private-dockerd.js';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { appLines, idFrom, startSystem, type System } from '../support/system.js';

// RELIABILITY.md scenario 21: the Docker engine restarted or gone under an agent. The agent runs
// on an engine of this file's own (never the shared one), restarted and stopped by its PID.
// Its periodic engine check is a minute away, so the agent learns of the outage only from its
// own calls failing: tasks placed before it knows must be held, not failed.
let engine: PrivateDockerd;
let system: System;

beforeAll(async () => {
  engine = await startPrivateDockerd({ images: [TEST_IMAGE] });
  system = await startSystem({ agentEnv: { DOCKER_HOST: engine.host, TAPIT_AGENT_ENGINE_CHECK_MS: '60000' } });
}, HOOK_TIMEOUT_MS);
afterAll(async () => {
  await system?.stop();
  await engine?.destroy();
}, HOOK_TIMEOUT_MS);
// A failed test must not leave the next one without an engine.
afterEach(async () => {
  if (!engine.running) await engine.start();
});

const why = () => `${system.output()}\n--- private dockerd ---\n${engine.log().slice(-4000)}`;
const numbered = (n: number) => Array.from({ length: n }, (_, i) => `line ${i + 1}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** `line 1`, `line 2`, … 0.1 s apart; on SIGTERM it says so and exits 143, as a real program would. */
const countTo = (n: number, code: number) =>
  `trap 'echo got TERM; exit 143' TERM; i=0; while [ $i -lt ${n} ]; do i=$((i+1)); echo line $i; sleep 0.1; done; exit ${code}`;

async function create(command: string): Promise<string> {
  const created = await system.tapit('create', 'task', command);
  expect(created.code, created.stderr).toBe(0);
  return idFrom(created.stdout);
}

async function waitForLine(id: string, text: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await system.logs(id)).some((line) => line.text === text)) return;
    await sleep(100);
  }
  throw new Error(`"${text}" never appeared in the log of ${id}\n${why()}`);
}

/** The task's containers on the private engine (running or not). */
async function containersOf(id: string): Promise<string[]> {
  return (await engine.docker('ps', '-aq', '--no-trunc', '--filter', `label=tapit.task-id=${id}`)).split('\n').filter(Boolean);
}

/** Containers created for the task since `since` (the engine forgets events when it restarts). */
async function createsSince(id: string, since: Date): Promise<string[]> {
  const out = await engine.docker(
    'events',
    '--since', String(Math.floor(since.getTime() / 1000) - 1),
    '--until', String(Math.ceil(Date.now() / 1000) + 1),
    '--filter', 'type=container',
    '--filter', 'event=create',
    '--filter', `label=tapit.task-id=${id}`,
    '--format', '{{.Actor.ID}}',
  );
  return out.split('\n').filter(Boolean);
}

/** The agent as `tapit list agents --json` lists it (from the API: it is polled every 200 ms). */
async function agentListed() {
  const listed = AgentList.parse(await system.api('agents'));
  const agent = listed.items.find((a) => a.name === system.agent.name);
  if (!agent) throw new Error(`agent ${system.agent.name} is not listed\n${JSON.stringify(listed)}`);
  return agent;
}

async function waitForAgent(ok: (agent: Awaited<ReturnType<typeof agentListed>>) => boolean, what: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  let last = await agentListed();
  while (!ok(last)) {
    if (Date.now() > deadline) throw new Error(`the agent never became ${what}: ${JSON.stringify(last)}\n${why()}`);
    await sleep(200);
    last = await agentListed();
  }
  return last;
}

/** Lines 1…N in order, each once, then the program's goodbye; returns N. */
async function expectEveryLineUntilTerm(id: string): Promise<number> {
  const logs = await system.tapit('show', 'logs', `task=${id}`);
  expect(logs.code, logs.stderr).toBe(0);
  const lines = appLines(logs.stdout);
  expect(lines.at(-1), why()).toBe('got TERM');
  expect(lines.slice(0, -1), why()).toEqual(numbered(lines.length - 1));
  // One final state, said once.
  expect(logs.stdout.match(/\[system\] Task status is STOPPED, desired status is STOPPED$/gm) ?? []).toHaveLength(1);
  expect(logs.stdout.match(/\[system\] Task stopped: /gm) ?? []).toHaveLength(1);
  return lines.length - 1;
}

describe('the Docker engine under a running task', () => {
  it('restarted (SIGTERM, start again): the task ends ENGINE_LOST "the Docker engine restarted", every line kept, one container', async () => {
    const id = await create(countTo(600, 0));
    await waitForLine(id, 'line 10');
    const [container, ...more] = await containersOf(id);
    expect(more).toEqual([]);

    await engine.stop('SIGTERM');
    const back = new Date();
    await engine.start();

    const task = await system.waitForTask(id, (t) => t.status === 'STOPPED');
    // Not a bare EXITED (exit code 143), never OOM_KILLED: the engine's restart ended it.
    expect(task, why()).toMatchObject({ status: 'STOPPED', stopCode: 'ENGINE_LOST', stopReason: 'the Docker engine restarted', exitCode: 143 });
    expect(await expectEveryLineUntilTerm(id)).toBeGreaterThanOrEqual(10);
    const shown = await system.tapit('show', 'task', `task=${id}`);
    expect(shown.stdout).toMatch(/^Stop code:\s+ENGINE_LOST: the Docker engine restarted$/m);
    // The one container, never a second one after the engine came back.
    expect(container).toBeDefined();
    expect(await createsSince(id, back)).toEqual([]);
  });

  it('crashed (SIGKILL) and started again: ENGINE_LOST, with the lines written while it was down', async () => {
    const id = await create(countTo(600, 0));
    await waitForLine(id, 'line 10');
    expect(await containersOf(id)).toHaveLength(1);

    await engine.stop('SIGKILL');
    await sleep(1_000); // the container runs on in its shim meanwhile
    const back = new Date();
    await engine.start();

    const task = await system.waitForTask(id, (t) => t.status === 'STOPPED');
    expect(task, why()).toMatchObject({ status: 'STOPPED', stopCode: 'ENGINE_LOST', stopReason: 'the Docker engine restarted', exitCode: 143 });
    expect(await expectEveryLineUntilTerm(id)).toBeGreaterThanOrEqual(10);
    expect(await createsSince(id, back)).toEqual([]);
  });

  it('restarted with live restore: the container lives on, and the task ends EXITED with its own code and every line', async () => {
    await engine.stop('SIGTERM');
    await engine.start({ liveRestore: true });
    try {
      const id = await create(countTo(60, 7));
      await waitForLine(id, 'line 5');
      const before = await containersOf(id);
      expect(before).toHaveLength(1);

      await engine.stop('SIGTERM');
      const back = new Date();
      await engine.start({ liveRestore: true });

      // The engine restarted, but the task did not end with it (whether it ended while the engine
      // was away or after): its own exit code, no engine reason, every line.
      const task = await system.waitForTask(id, (t) => t.status === 'STOPPED');
      expect(task, why()).toMatchObject({ status: 'STOPPED', stopCode: 'EXITED', stopReason: null, exitCode: 7 });
      const logs = await system.tapit('show', 'logs', `task=${id}`);
      expect(appLines(logs.stdout), why()).toEqual(numbered(60));
      expect(await createsSince(id, back)).toEqual([]);
    } finally {
      await engine.stop('SIGTERM');
      await engine.start();
    }
  });
});

describe('the Docker engine gone while tasks are placed', () => {
  it('the agent shows not ready and offers nothing; tasks wait (not failed) and run to EXITED 0 once the engine is back', async () => {
    await engine.stop('SIGTERM');
    // Placed before the agent knows of the outage: it holds the task rather than failing it.
    const early = await create('echo early');
    const agent = await waitForAgent((a) => a.ready === false, 'not ready');
    expect(agent.notReadyReason, why()).toMatch(/^Docker engine unreachable: .*docker\.sock/);
    const table = await system.tapit('list', 'agents');
    expect(table.stdout).toMatch(new RegExp(`^${system.agent.name}\\s+not ready\\s`, 'm'));
    expect(table.stdout).toContain('Docker engine unreachable');

    // Known not ready: nothing more is placed on it.
    const late = await create('echo late');
    await sleep(1_500);
    expect(await system.task(late), why()).toMatchObject({ status: 'PROVISIONING', agent: null, stopCode: null });
    expect(await system.task(early), why()).toMatchObject({ status: 'PENDING', stopCode: null });

    await engine.start();
    for (const [id, text] of [[early, 'early'], [late, 'late']] as const) {
      const task = await system.waitForTask(id, (t) => t.status === 'STOPPED');
      expect(task, why()).toMatchObject({ status: 'STOPPED', stopCode: 'EXITED', exitCode: 0 });
      expect((await system.logs(id)).filter((l) => l.stream === 'stdout').map((l) => l.text)).toEqual([text]);
    }
    await waitForAgent((a) => a.ready === true && a.notReadyReason === null, 'ready again');
  });
});
