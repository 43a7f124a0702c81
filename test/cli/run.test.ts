import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogPage, Task } from '@tapit/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, TEST_IMAGE, type RunningAgent } from '../support/agent.js';
import { cliEnv, runCli, startCli } from '../support/cli.js';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { startScheduler, type RunningScheduler } from '../support/scheduler.js';

// Whole runs: scheduler, one agent and the local Docker engine (scripts/test-services.sh).
let scheduler: RunningScheduler;
let agent: RunningAgent;
let env: Record<string, string>;

beforeAll(async () => {
  const joinToken = `join-${randomBytes(16).toString('hex')}`;
  scheduler = await startScheduler({ TAPIT_AGENT_JOIN_TOKEN: joinToken });
  agent = await startAgent(scheduler, joinToken);
  env = { ...cliEnv(scheduler, await mkdtemp(join(tmpdir(), 'tapit-cli-config-'))), TAPIT_APP: 'web' };
  const app = await runCli(['create', 'app', 'web', `image=${TEST_IMAGE}`], { env });
  if (app.code !== 0) throw new Error(app.stderr);
}, HOOK_TIMEOUT_MS);
afterAll(async () => {
  await agent?.stop();
  await scheduler?.stop();
}, HOOK_TIMEOUT_MS);

const tapit = (...args: string[]) => runCli(args, { env });
const idFrom = (stdout: string) => /^ID:\s+([0-9a-f]{32})$/m.exec(stdout)?.[1] ?? '';
const LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[(app|system)\] /;

describe('attached runs with an agent', () => {
  it('create task --wait streams the log and exits with the task exit code', async () => {
    // A stderr line in the container's last instant, stamped before the stdout one by Docker
    // often enough: once lost by the agent's log reader, see packages/agent/src/drivers/docker/log-reader.ts.
    const run = await tapit('create', 'task', 'echo hello; echo to-stderr >&2; exit 3', '--wait');
    expect(run.code).toBe(3);
    expect(run.stdout).toMatch(/^ID:\s+[0-9a-f]{32}$/m);
    const lines = run.stdout.split('\n').filter((line) => LINE.test(line));
    expect(lines.some((line) => line.endsWith('[system] Task status is RUNNING, desired status is RUNNING'))).toBe(true);
    expect(lines.some((line) => line.endsWith('[app] hello'))).toBe(true);
    expect(lines.some((line) => line.endsWith('[app] to-stderr'))).toBe(true);
    // The status lines come in lifecycle order, before the app's own output.
    const order = ['PROVISIONING', 'PENDING', 'RUNNING'].map((s) => lines.findIndex((l) => l.includes(`Task status is ${s},`)));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(order[2]).toBeLessThan(lines.findIndex((l) => l.endsWith('[app] hello')));

    const task = Task.parse(JSON.parse((await tapit('show', 'task', `task=${idFrom(run.stdout)}`, '--json')).stdout));
    expect(task).toMatchObject({ status: 'STOPPED', stopCode: 'EXITED', exitCode: 3, agent: agent.name });
    const shown = await tapit('show', 'task', `task=${task.id}`);
    expect(shown.stdout).toMatch(/^Exit code:\s+3$/m);
    expect(shown.stdout).toMatch(/^Started:\s+\d{4}-/m);
    expect(shown.stdout).toMatch(/^Finished:\s+\d{4}-/m);
    expect(shown.stdout).toMatch(/^Log:\n(  .*\n)*  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[app\] hello\n/m);
  });

  it('task:run exits 0 for a command that succeeds, with its arguments as given', async () => {
    const run = await tapit('task:run', '--', 'echo', 'Hello World', '$HOME');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/\[app\] Hello World \$HOME$/m);
  });

  it('show logs prints the whole log of a finished task, and --follow ends with its exit code', async () => {
    const run = await tapit('create', 'task', 'for i in 1 2 3; do echo line $i; done; exit 4', '--wait');
    const id = idFrom(run.stdout);
    const logs = await tapit('show', 'logs', `task=${id}`);
    expect(logs.code).toBe(0);
    expect(logs.stdout.split('\n').filter((l) => / \[app\] line \d$/.test(l)).map((l) => l.slice(-6))).toEqual(['line 1', 'line 2', 'line 3']);
    const followed = await tapit('show', 'logs', `task=${id}`, '--follow');
    expect(followed.code).toBe(4);
    expect(followed.stdout).toBe(logs.stdout);
    const json = LogPage.pick({ lines: true }).parse(JSON.parse((await tapit('show', 'logs', `task=${id}`, '--json')).stdout));
    expect(json.lines.filter((l) => l.stream !== 'system').map((l) => l.text)).toEqual(['line 1', 'line 2', 'line 3']);
  });

  it('show logs --follow stops with a clear error when its token is revoked meanwhile', async () => {
    const created = await tapit('create', 'token', 'revoked-follower', 'role=viewer', '--json');
    expect(created.code, created.stderr).toBe(0);
    const { token } = JSON.parse(created.stdout) as { token: string };
    const run = await tapit('create', 'task', 'echo started; sleep 60');
    const id = idFrom(run.stdout);
    const follower = startCli(['show', 'logs', `task=${id}`, '--follow'], { env: { ...env, TAPIT_TOKEN: token } });
    await follower.waitFor(/\[app\] started$/m);
    expect((await tapit('revoke', 'token', 'revoked-follower')).code).toBe(0);
    const result = await follower.result;
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/revoked token/);
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect((await tapit('task:stop', id)).code).toBe(0);
  });

  it('a task that cannot start exits 1 and says why', async () => {
    const run = await tapit('create', 'task', 'true', 'image=tapit-test/does-not-exist:1', '--wait');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^Task stopped: FAILED_TO_START/m);
  });
});
