import { AgentList, LogChunkPage, Task, TaskList } from '@tapit/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openConsoleSocket } from '../support/console-socket.js';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { appLines, idFrom, startSystem, type System } from '../support/system.js';

// Issue 11, item 3 (RELIABILITY.md scenario 23): one task printing as fast as it can, and beside
// it on the same agent a quiet task, a console, another project's API calls and the agent's own
// link. The numbers (how long each waits) are bench/flood's; this holds order and completeness.
const LINE = '0'.repeat(199); // 200 bytes with its line break
const FLOOD_LINES = 1_000_000;
/**
 * As fast as it can: 200 MB, far more than the pipeline ships in the seconds this test looks
 * (Docker's own log copy takes about as long here), then the task stays running until the end.
 */
const FLOOD = `yes ${LINE} | head -n ${FLOOD_LINES}; exec sleep 600`;
const QUIET_LINES = 40;
const QUIET = `i=0; while [ $i -lt ${QUIET_LINES} ]; do i=$((i+1)); echo "quiet $i"; sleep 0.05; done`;

let system: System;

beforeAll(async () => {
  // Heartbeats every 2 s: an agent or scheduler stalled for 6 s drops the link (5 s in production).
  system = await startSystem({ schedulerEnv: { TAPIT_HEARTBEAT_INTERVAL_MS: '2000' } });
}, HOOK_TIMEOUT_MS);
afterAll(() => system?.stop(), HOOK_TIMEOUT_MS);

const why = () => system.output();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function api(path: string, init: { method?: string; body?: unknown; token?: string } = {}): Promise<{ status: number; json: any }> {
  const response = await fetch(`${system.scheduler.url}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${init.token ?? system.scheduler.token}`, 'content-type': 'application/json' },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null };
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${why()}`);
    await sleep(100);
  }
}

/** How many lines of the task's log are stored (the position of its last line). */
const storedLines = async (id: string) => LogChunkPage.parse((await api(`/v1/tasks/${id}/logs/chunks?tail=1`)).json).last;

describe('a task flooding its log', () => {
  it("does not hold back another task's lines, a console, another project's API calls or the agent's link", { timeout: 120_000 }, async () => {
    // Another project, its member token and one task of its own.
    expect((await api('/v1/projects', { method: 'POST', body: { name: 'other' } })).status).toBe(201);
    expect((await api('/v1/projects/other/stages/default/apps', { method: 'POST', body: { name: 'web', image: 'tapit-test/busybox:latest' } })).status).toBe(201);
    const member = (await api('/v1/tokens', { method: 'POST', body: { name: 'other-member', role: 'member', project: 'other' } })).json.token as string;
    const otherTask = Task.parse((await api('/v1/projects/other/stages/default/apps/web/tasks', { method: 'POST', body: { command: 'echo other' }, token: member })).json);

    const flood = await system.tapit('create', 'task', FLOOD);
    expect(flood.code, flood.stderr).toBe(0);
    const floodId = idFrom(flood.stdout);
    await until('the flood to reach the scheduler', async () => ((await storedLines(floodId)) > 1000 ? true : undefined), 60_000);

    // Beside it: a quiet task followed to its end, a console, and the other project's listing.
    const quiet = system.tapitWithin(90_000, 'create', 'task', QUIET, '--wait');
    const console_ = (async () => {
      const created = await api('/v1/projects/default/stages/default/apps/web/tasks', { method: 'POST', body: { args: ['sh'], kind: 'interactive' } });
      expect(created.status, JSON.stringify(created.json)).toBe(201);
      const id = Task.parse(created.json).id;
      await until('the console task to run', async () => ((await api(`/v1/tasks/${id}`)).json.status === 'RUNNING' ? true : undefined), 60_000);
      const terminal = await openConsoleSocket(system.scheduler, id);
      // Typed one after the other, each answered (computed remotely: the echo of what was typed
      // does not hold the answer).
      for (const n of [1, 2, 3]) {
        terminal.type(`echo typed-$((${n}*7))\r`);
        await until(`the console's answer ${n}`, async () => (terminal.screen().includes(`typed-${n * 7}\r\n`) ? true : undefined), 60_000);
      }
      const answers = terminal.screen().match(/^typed-\d+(?=\r\n)/gm);
      terminal.terminate();
      await api(`/v1/tasks/${id}/stop`, { method: 'POST' });
      return answers;
    })();
    const listings = (async () => {
      const seen: number[] = [];
      for (let i = 0; i < 20; i++) {
        const listed = await api('/v1/tasks?project=other', { token: member });
        seen.push(listed.status);
        if (listed.status === 200) expect(TaskList.parse(listed.json).items.map((task) => task.id)).toEqual([otherTask.id]);
        await sleep(100);
      }
      return seen;
    })();

    const quietRun = await quiet;
    expect(quietRun.code, `${quietRun.stderr}\n${why()}`).toBe(0);
    // Every line, once, in order, and the task's end after them.
    expect(appLines(quietRun.stdout)).toEqual(Array.from({ length: QUIET_LINES }, (_, i) => `quiet ${i + 1}`));
    expect(quietRun.stdout).toMatch(/\[system\] Task stopped: EXITED \(exit code 0\)\n$/);
    expect(await console_).toEqual(['typed-7', 'typed-14', 'typed-21']);
    expect(await listings).toEqual(Array(20).fill(200));

    // All of that happened while the flood was still being shipped.
    expect((await system.task(floodId)).status).toBe('RUNNING');
    expect(await storedLines(floodId), 'the flood was shipped before the others were done: make it bigger').toBeLessThan(FLOOD_LINES);

    // The agent's link held throughout: online, never dropped or replaced.
    const agents = AgentList.parse((await api('/v1/agents')).json).items;
    expect(agents.map((agent) => [agent.name, agent.status])).toEqual([[system.agent.name, 'online']]);
    const schedulerLog = system.scheduler.output();
    expect(schedulerLog.match(/agent \S+ connected/g), why()).toHaveLength(1);
    expect(schedulerLog).not.toMatch(/agent \S+ (disconnected|silent for)/);
    expect(system.agent.output()).not.toMatch(/connection\.(closed|silent)/);
  });
});
