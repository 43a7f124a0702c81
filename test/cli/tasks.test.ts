import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Task, TaskList } from '@tapit/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, runCli, startCli } from '../support/cli.js';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { startScheduler, type RunningScheduler } from '../support/scheduler.js';

// No agent joins this scheduler: tasks stay PROVISIONING until stopped, which is what the
// create/list/show/stop/delete paths and Ctrl-C detaching need. Runs to completion are in
// run.test.ts, with an agent and Docker.
let scheduler: RunningScheduler;
let env: Record<string, string>;

beforeAll(async () => {
  scheduler = await startScheduler();
  env = { ...cliEnv(scheduler, await mkdtemp(join(tmpdir(), 'tapit-cli-config-'))), TAPIT_APP: 'web' };
  const app = await runCli(['create', 'app', 'web', 'image=busybox:1.36'], { env });
  if (app.code !== 0) throw new Error(app.stderr);
}, HOOK_TIMEOUT_MS);
afterAll(() => scheduler?.stop(), HOOK_TIMEOUT_MS);

const tapit = (...args: string[]) => runCli(args, { env });
const idFrom = (stdout: string) => /^ID:\s+([0-9a-f]{32})$/m.exec(stdout)?.[1] ?? '';
const tasksJson = async (...args: string[]) => TaskList.parse(JSON.parse((await tapit('list', 'tasks', '--json', ...args)).stdout));

describe('tapit create task, list tasks, show task, delete task', () => {
  it('creates a background task with resources and prints its id and status', async () => {
    const created = await tapit('create', 'task', 'echo hello && exit 3', 'memory=1.5', 'cpu=0.5', 'max_hours=2', 'initiated_by=deploy-bot', 'ephemeral_storage_gb=4', 'release=1');
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const id = idFrom(created.stdout);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(created.stdout).toContain('Status: PROVISIONING, desired status RUNNING');

    const shown = await tapit('show', 'task', `task=${id.slice(0, 8)}`);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(new RegExp(`^ID:\\s+${id}$`, 'm'));
    for (const line of [/^Status:\s+PROVISIONING$/m, /^Desired status:\s+RUNNING$/m, /^Command:\s+echo hello && exit 3$/m, /^CPU:\s+0.5 vCPU$/m, /^Memory:\s+1.5 GB$/m, /^Max hours:\s+2$/m, /^Ephemeral storage:\s+4 GB$/m, /initiated by deploy-bot/m]) {
      expect(shown.stdout).toMatch(line);
    }

    const json = Task.parse(JSON.parse((await tapit('show', 'task', `task=${id}`, '--json')).stdout));
    expect(json).toMatchObject({ id, command: ['/bin/sh', '-c', 'echo hello && exit 3'], initiatedBy: 'deploy-bot', kind: 'background', release: 1 });
    expect(json.resources).toEqual({ cpu: 0.5, memoryGb: 1.5, maxHours: 2, ephemeralStorageGb: 4 });
  });

  it('lists tasks as a table with short ids and as JSON, newest first', async () => {
    const second = idFrom((await tapit('create:task', 'sleep 1')).stdout);
    const table = await tapit('list', 'tasks');
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+STATUS\s+COMMAND\s+CREATED\s+DURATION\s+CPU \/ MEMORY$/);
    expect(table.stdout.split('\n')[1]).toMatch(new RegExp(`^${second.slice(0, 12)}\\s+PROVISIONING\\s+sleep 1\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\s+-\\s+0.25 vCPU / 0.5 GB$`));
    const list = await tasksJson();
    expect(list.items[0].id).toBe(second);
    expect((await tasksJson('--limit', '1')).items).toHaveLength(1);
    expect((await tasksJson('--status', 'stopped')).items).toEqual([]);
  });

  it('stops a task (SetOps task:stop), which then shows its stop code and log, and deletes it', async () => {
    const id = idFrom((await tapit('create', 'task', 'sleep 600')).stdout);
    const running = await tapit('task');
    expect(running.stdout).toContain(id.slice(0, 12));

    const stopped = await runCli(['task:stop', id.slice(0, 10)], { env });
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toContain(`Stopping task ${id}`);

    const task = Task.parse(JSON.parse((await tapit('show', 'task', `task=${id}`, '--json')).stdout));
    expect(task).toMatchObject({ status: 'STOPPED', desiredStatus: 'STOPPED', stopCode: 'USER_STOPPED' });
    expect((await tapit('task')).stdout).not.toContain(id.slice(0, 12));

    const logs = await tapit('show', 'logs', `task=${id}`);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[system\] Task status is PROVISIONING, desired status is RUNNING$/m);

    const deleted = await tapit('delete', 'task', `task=${id}`);
    expect(deleted.code).toBe(0);
    const gone = await tapit('show', 'task', `task=${id}`);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toMatch(/^Error: .*not found.*\n$/);
  });

  it('refuses to delete a task that is not stopped (exit 2, one line)', async () => {
    const id = idFrom((await tapit('create', 'task', 'sleep 600')).stdout);
    const refused = await tapit('delete', 'task', `task=${id}`);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^Error: [^\n]+\n$/);
    await tapit('task:stop', id);
  });

  it('rejects bad input with exit 2 and a line naming the key, without creating a task', async () => {
    const before = (await tasksJson()).items.length;
    const cases: [string[], RegExp][] = [
      [['create', 'task', 'echo', 'foo=1'], /^Error: Unknown key "foo": allowed keys are memory, cpu, docker_tag, image, release, max_hours, initiated_by, ephemeral_storage_gb, constraint, env\n$/],
      [['create', 'task', 'echo', 'memory=lots'], /^Error: Invalid value "lots" for memory: must be a number of GB from 0.004 to 1024\n$/],
      [['create', 'task', 'echo', 'cpu=-1'], /^Error: Invalid value "-1" for cpu: must be at least 0.01 vCPUs\n$/],
      [['create', 'task', 'echo', 'docker_tag=no tags'], /^Error: Invalid value "no tags" for docker_tag: /],
      [['create', 'task'], /^Error: Missing command/],
      [['show', 'task'], /^Error: Missing key "task"/],
      [['show', 'task', 'task=xyz'], /^Error: Invalid task "xyz": must be 4 to 32 lowercase hex/],
      [['task:run', '--cpu', '1', '--', 'echo'], /^Error: Invalid --cpu 1 \(0.0009766 vCPUs\): must be at least 0.01 vCPUs\n$/],
      [['list', 'tasks', '--status', 'done'], /^Error: Invalid --status "done": allowed values are PROVISIONING, PENDING, RUNNING, STOPPING, STOPPED\n$/],
    ];
    for (const [args, message] of cases) {
      const result = await tapit(...args);
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr).toMatch(message);
    }
    expect((await tasksJson()).items.length).toBe(before);
  });

  it('reports an unknown app with exit 2, naming the apps there are', async () => {
    for (const args of [['create', 'task', 'echo', '-a', 'nope'], ['list', 'tasks', '-a', 'nope'], ['task', '-a', 'nope']]) {
      const result = await tapit(...args);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^Error: .*"nope".*not found; apps in default\/default: web\n$/);
    }
    // A missing release of an app that exists is not a missing app: no list of apps.
    const release = await tapit('create', 'task', 'echo', 'release=9');
    expect(release.code).toBe(2);
    expect(release.stderr).toBe('Error: release 9 of app "web" not found\n');
  });

  it('runs SetOps style: scope flags first, units converted, argv kept in order', async () => {
    const run = await runCli(['-p', 'default', '-s', 'default', '--app', 'web', 'task:run', '--cpu', '256', '--memory', '512', '--entrypoint', '/bin/sh,-c', '--detached', '--', 'echo', 'a', '-b', 'a'], {
      env: { ...env, TAPIT_APP: '' },
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const task = Task.parse(JSON.parse((await tapit('show', 'task', `task=${idFrom(run.stdout)}`, '--json')).stdout));
    expect(task.command).toEqual(['echo', 'a', '-b', 'a']);
    expect(task.entrypoint).toEqual(['/bin/sh', '-c']);
    expect(task.resources).toMatchObject({ cpu: 0.25, memoryGb: 0.5 });
    await tapit('task:stop', task.id);
  });
});

describe('attached runs without an agent', () => {
  it('detaches on Ctrl-C with exit 130 and says how to follow again; the task goes on', async () => {
    const cli = startCli(['create', 'task', 'echo never', '--wait'], { env });
    await cli.waitFor(/\[system\] Task status is PROVISIONING/);
    cli.child.kill('SIGINT');
    const result = await cli.result;
    expect(result.code).toBe(130);
    const id = idFrom(result.stdout);
    expect(result.stdout).toMatch(/^ID:\s+[0-9a-f]{32}$/m);
    expect(result.stderr).toContain(`tapit show logs task=${id} --follow`);
    const task = Task.parse(JSON.parse((await tapit('show', 'task', `task=${id}`, '--json')).stdout));
    expect(task.status).toBe('PROVISIONING');
    expect(task.desiredStatus).toBe('RUNNING');

    // Stopped from elsewhere while a follower waits: it ends with exit 1 and the stop code.
    const follower = startCli(['show', 'logs', `task=${id}`, '--follow'], { env });
    await follower.waitFor(/\[system\] Task status is PROVISIONING/);
    expect((await tapit('task:stop', id)).code).toBe(0);
    const followed = await follower.result;
    expect(followed.code).toBe(1);
    expect(followed.stdout).toMatch(/\[system\] Task status is STOPPED/);
    expect(followed.stderr).toMatch(/^Task stopped: USER_STOPPED/m);
  });
});
