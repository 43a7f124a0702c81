import type { Task } from '@tapit/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerCreatesOfTask, containersOfTask, docker } from '../support/docker.js';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { appLines, idFrom, startSystem, type System } from '../support/system.js';

// An agent cut off from the scheduler for longer than the grace period (RELIABILITY.md,
// scenario 4), by a network split: the TCP proxy between them holds every byte back. The task
// must not run on unseen once the scheduler has declared it lost (its agent stops it first),
// a follower must not end before the log is complete, and when the link returns the agent's late
// report — its last lines and the real exit code — is kept with the task, which has one final
// state. Short heartbeats and grace keep it fast.
const GRACE_SECONDS = 2;
let system: System;

beforeAll(async () => {
  system = await startSystem({
    agentThroughProxy: true,
    schedulerEnv: { TAPIT_HEARTBEAT_INTERVAL_MS: '500', TAPIT_AGENT_LOST_GRACE_SECONDS: String(GRACE_SECONDS) },
  });
}, HOOK_TIMEOUT_MS);
afterAll(() => system?.stop(), HOOK_TIMEOUT_MS);

const why = () => system.output();
/** Counts, 20 lines a second, until it is stopped; SIGTERM ends it at once. */
const COUNT_UNTIL_STOPPED = "trap 'echo got TERM; exit 143' TERM; i=0; while [ $i -lt 3000 ]; do i=$((i+1)); echo line $i; sleep 0.05; done";

describe('an agent cut off past the grace period', () => {
  it('stops its task before the scheduler declares it lost; the follower stays until the late report; every line once; one final state', async () => {
    const since = new Date();
    const created = await system.tapit('create', 'task', COUNT_UNTIL_STOPPED);
    expect(created.code, created.stderr).toBe(0);
    const id = idFrom(created.stdout);
    const follower = system.startTapit(['show', 'logs', `task=${id}`, '--follow'], 90_000);
    await follower.waitFor(/\[app\] line 20$/m);
    const [container] = await containersOfTask(id);
    expect(container).toBeDefined();

    system.agentLink!.freeze();
    const lost: Task = await system.waitForTask(id, (t) => t.status === 'STOPPED', 60_000);
    // Looked at as soon as the scheduler says the task is over: its container must be, too.
    const state = JSON.parse(await docker('inspect', '-f', '{{json .State}}', container!)) as { Running: boolean; FinishedAt: string };
    expect(lost, why()).toMatchObject({ status: 'STOPPED', stopCode: 'AGENT_LOST' });
    expect(state.Running, `the container still ran when the task was declared lost\n${why()}`).toBe(false);
    expect(Date.parse(state.FinishedAt), 'the container ended after the task was declared lost').toBeLessThanOrEqual(Date.parse(lost.finishedAt!));
    // The reason tells the silence as it was, not the configured grace.
    const silence = Number(/not heard from for (\d+) s/.exec(lost.stopReason ?? '')?.[1]);
    expect(silence, lost.stopReason ?? '').toBeGreaterThan(GRACE_SECONDS);

    // The log is not complete yet: the follower waits for the agent's last lines.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(follower.child.exitCode, `the follower ended at the status change\n${why()}`).toBeNull();

    system.agentLink!.thaw();
    const followed = await follower.result;
    const task = await system.waitForTask(id, (t) => t.exitCode !== null, 30_000);
    expect(task, why()).toMatchObject({ status: 'STOPPED', stopCode: 'AGENT_LOST', exitCode: 143, stopReason: lost.stopReason, finishedAt: lost.finishedAt });

    const logs = await system.tapit('show', 'logs', `task=${id}`);
    expect(logs.code, logs.stderr).toBe(0);
    const printed = appLines(logs.stdout);
    const count = printed.filter((t) => t.startsWith('line ')).length;
    expect(count, logs.stdout).toBeGreaterThan(20);
    expect(printed, why()).toEqual([...Array.from({ length: count }, (_, i) => `line ${i + 1}`), 'got TERM']);
    expect(logs.stdout.match(/Task status is STOPPED/g), 'one final state').toHaveLength(1);
    expect(logs.stdout).toMatch(/\[system\] Late report from agent .*: exit code 143/);
    // The follower saw the same complete log and ended with the real exit code.
    expect(appLines(followed.stdout), followed.stderr).toEqual(printed);
    expect(followed.code, followed.stderr).toBe(143);

    expect(await containerCreatesOfTask(id, since), 'containers created for the task').toEqual([container]);
    // Once reported, the agent removes the container.
    for (let i = 0; i < 40 && (await containersOfTask(id)).length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await containersOfTask(id)).toEqual([]);
  });
});
