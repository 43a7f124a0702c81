import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerCreatesOfTask, containersOfTask, docker } from '../support/docker.js';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { appLines, idFrom, startSystem, type System } from '../support/system.js';

// Faults in the middle of a task (RELIABILITY.md): the agent killed with SIGKILL and started
// again on its state folder, the scheduler restarted on the same Postgres database. The task must
// carry on in its one container, and its log must be complete, in order, each line once.
let system: System;

beforeAll(async () => {
  system = await startSystem();
}, HOOK_TIMEOUT_MS);
afterAll(() => system?.stop(), HOOK_TIMEOUT_MS);

const why = () => system.output();
const numbered = (n: number) => Array.from({ length: n }, (_, i) => `line ${i + 1}`);
/** Prints `line 1` … `line N`, 0.1 s apart, then exits with `code`. */
const countTo = (n: number, code: number) => `for i in $(seq 1 ${n}); do echo line $i; sleep 0.1; done; exit ${code}`;

async function waitForLine(id: string, text: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await system.logs(id)).some((line) => line.text === text)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`"${text}" never appeared in the log of ${id}\n${why()}`);
}

describe('restarts in the middle of a task', () => {
  it('agent kill -9 and restart on the same state folder: one container, every line once, the real exit code', async () => {
    const since = new Date();
    const created = await system.tapit('create', 'task', countTo(100, 7));
    expect(created.code, created.stderr).toBe(0);
    const id = idFrom(created.stdout);
    await waitForLine(id, 'line 10');
    const follower = system.startTapit(['show', 'logs', `task=${id}`, '--follow'], 55_000);
    await follower.waitFor(/\[app\] line 10$/m);
    const [container] = await containersOfTask(id);
    expect(container).toBeDefined();

    await system.killAgent();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    // The container is not the agent's child: it runs on without it.
    expect((await docker('inspect', '-f', '{{.State.Running}}', container!)).trim()).toBe('true');
    await system.restartAgent();
    expect(await containersOfTask(id), 'the restarted agent must adopt the one container').toEqual([container]);
    expect((await system.task(id)).status, 'the task was to be still running when the agent came back').toBe('RUNNING');

    const task = await system.waitForTask(id, (t) => t.status === 'STOPPED');
    expect(task, why()).toMatchObject({ status: 'STOPPED', stopCode: 'EXITED', exitCode: 7 });

    const logs = await system.tapit('show', 'logs', `task=${id}`);
    expect(logs.code, logs.stderr).toBe(0);
    expect(appLines(logs.stdout), why()).toEqual(numbered(100));
    const followed = await follower.result;
    expect(followed.code, followed.stderr).toBe(7);
    expect(appLines(followed.stdout)).toEqual(numbered(100));

    expect(await containerCreatesOfTask(id, since), 'containers created for the task').toEqual([container]);
  });

  it('scheduler restart (SIGTERM, start again on the same database): the task carries on and finishes with all its lines', async () => {
    const since = new Date();
    const created = await system.tapit('create', 'task', countTo(100, 5));
    expect(created.code, created.stderr).toBe(0);
    const id = idFrom(created.stdout);
    await waitForLine(id, 'line 10');

    // Down for 2 s while the task keeps printing: the agent holds those lines until it is back.
    await system.restartScheduler(2_000);
    expect((await system.task(id)).status, 'the task was to be still running when the scheduler came back').toBe('RUNNING');
    const task = await system.waitForTask(id, (t) => t.status === 'STOPPED');
    expect(task, why()).toMatchObject({ status: 'STOPPED', stopCode: 'EXITED', exitCode: 5, agent: system.agent.name });

    const logs = await system.tapit('show', 'logs', `task=${id}`);
    expect(logs.code, logs.stderr).toBe(0);
    expect(appLines(logs.stdout), why()).toEqual(numbered(100));
    expect(await containerCreatesOfTask(id, since), 'containers created for the task').toHaveLength(1);
    // Finished normally: the status went on to STOPPED once, and nothing was started again.
    expect(logs.stdout.match(/\[system\] Task status is RUNNING, desired status is RUNNING$/gm) ?? []).toHaveLength(1);
  });
});
