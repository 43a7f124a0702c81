import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditEventList, CreatedToken } from '@tapit/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, runCli } from '../support/cli.js';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { startScheduler, type RunningScheduler } from '../support/scheduler.js';

// tapit list audit through the built CLI and scheduler. No agent joins: tasks stay PROVISIONING
// until stopped, which stops them at once.
let scheduler: RunningScheduler;
let env: Record<string, string>;
let taskId: string;
let shopTaskId: string;
let shopViewer: string;

const tapit = (...args: string[]) => runCli(args, { env });
const as = (extra: Record<string, string>, ...args: string[]) => runCli(args, { env: { ...env, ...extra } });
const audit = async (...args: string[]) => {
  const listed = await tapit('list', 'audit', '--json', ...args);
  expect(listed.code, listed.stderr).toBe(0);
  return AuditEventList.parse(JSON.parse(listed.stdout));
};
const actions = (list: AuditEventList) => list.items.map((e) => `${e.action} ${e.targetId}`);
const idFrom = (stdout: string) => /^ID:\s+([0-9a-f]{32})$/m.exec(stdout)?.[1] ?? '';

beforeAll(async () => {
  scheduler = await startScheduler();
  env = { ...cliEnv(scheduler, await mkdtemp(join(tmpdir(), 'tapit-cli-config-'))), TAPIT_APP: 'web' };
  for (const args of [
    ['create', 'app', 'web', 'image=busybox:1.36'],
    ['create', 'project', 'shop'],
    ['create', 'app', 'cart', 'image=busybox:1.36', '-p', 'shop'],
  ]) {
    const done = await tapit(...args);
    if (done.code !== 0) throw new Error(done.stderr);
  }
  // Someone behind the shared admin token says who they are.
  taskId = idFrom((await as({ TAPIT_INITIATED_BY: 'Jane Döe' }, 'create', 'task', 'sleep 600')).stdout);
  expect((await as({ TAPIT_INITIATED_BY: 'Jane Döe' }, 'task:stop', taskId.slice(0, 10))).code).toBe(0);
  shopTaskId = idFrom((await tapit('create', 'task', 'true', '-p', 'shop', '-a', 'cart')).stdout);
  shopViewer = CreatedToken.parse(JSON.parse((await tapit('create', 'token', 'shop-viewer', 'role=viewer', 'project=shop', '--json')).stdout)).token;
}, HOOK_TIMEOUT_MS);
afterAll(() => scheduler?.stop(), HOOK_TIMEOUT_MS);

describe('tapit list audit', () => {
  it('prints the trail newest first: time (UTC), actor, initiated by, action, target, project, source', async () => {
    const listed = await tapit('list', 'audit');
    expect(listed.code, listed.stderr).toBe(0);
    const lines = listed.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TIME \(UTC\)\s+ACTOR\s+INITIATED BY\s+ACTION\s+TARGET\s+PROJECT\s+SOURCE\s+DETAILS$/);
    expect(lines.slice(1).map((line) => line.split(/\s{2,}/)[3])).toEqual(['token.create', 'task.create', 'task.stop', 'task.create', 'app.create', 'project.create', 'app.create']);
    expect(lines[3]).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d  bootstrap\\s+Jane Döe\\s+task\\.stop\\s+task ${taskId.slice(0, 12)}\\s+default\\s+127\\.0\\.0\\.1$`));
    expect(lines[1]).toMatch(/bootstrap\s+-\s+token\.create\s+token shop-viewer\s+shop\s+127\.0\.0\.1\s+role=viewer$/);
  });

  it('filters by --actor, --action (one or a kind), --target (an id prefix), --since, and pages up to --limit', async () => {
    expect(actions(await audit('--action', 'task.stop'))).toEqual([`task.stop ${taskId}`]);
    expect(actions(await audit('--action', 'task.*'))).toEqual([`task.create ${shopTaskId}`, `task.stop ${taskId}`, `task.create ${taskId}`]);
    expect(actions(await audit('--target', taskId.slice(0, 8)))).toEqual([`task.stop ${taskId}`, `task.create ${taskId}`]);
    expect((await audit('--actor', 'bootstrap')).items).toHaveLength(7);
    expect((await audit('--actor', 'nobody')).items).toEqual([]);
    expect((await audit('--since', '1h')).items).toHaveLength(7);
    expect((await audit('--since', new Date(Date.now() + 3_600_000).toISOString())).items).toEqual([]);
    expect(actions(await audit('-p', 'shop'))).toEqual(['token.create shop-viewer', `task.create ${shopTaskId}`, 'app.create shop/default/cart', 'project.create shop']);
    const limited = await audit('--limit', '3');
    expect(limited.items).toHaveLength(3);
    expect(limited.nextCursor).not.toBeNull();
    const [stop] = (await audit('--action', 'task.stop')).items;
    expect(stop).toMatchObject({ actor: 'bootstrap', initiatedBy: 'Jane Döe', project: 'default', targetType: 'task', source: '127.0.0.1' });
    // The task it created says so too: the variable named whoever started it.
    expect((await audit('--action', 'task.create', '--target', taskId)).items[0]?.initiatedBy).toBe('Jane Döe');
    expect((await tapit('show', 'task', taskId)).stdout).toContain('(initiated by Jane Döe)');
  });

  it('shows a token for one project only its own project, never the token events', async () => {
    const viewer = (...args: string[]) => as({ TAPIT_TOKEN: shopViewer }, 'list', 'audit', ...args);
    const listed = await viewer('--json');
    expect(listed.code, listed.stderr).toBe(0);
    expect(actions(AuditEventList.parse(JSON.parse(listed.stdout)))).toEqual([`task.create ${shopTaskId}`, 'app.create shop/default/cart', 'project.create shop']);
    expect((await viewer('--target', taskId)).stdout).toBe('No audit events.\n');
    const other = await viewer('-p', 'default');
    expect(other.code).toBe(2);
    expect(other.stderr).toBe('Error: project "default" not found\n');
  });

  it('refuses bad filters with one line naming what is wrong, exit 2', async () => {
    const since = await tapit('list', 'audit', '--since', 'yesterday');
    expect(since.code).toBe(2);
    expect(since.stderr).toBe('Error: Bad value "yesterday" for --since: must be a duration such as 30s, 10m or 2h, or a timestamp such as 2026-11-30T17:00:00Z\n');
    const action = await tapit('list', 'audit', '--action', 'task.run');
    expect(action.code).toBe(2);
    expect(action.stderr).toMatch(/^Error: action: must be an action \(project\.create, .*task\.stop.*\) or all of a kind, such as task\.\*\n$/);
    const initiator = await as({ TAPIT_INITIATED_BY: 'evil\u001b[2J' }, 'list', 'audit');
    expect(initiator.code).toBe(2);
    expect(initiator.stderr).toBe('Error: Invalid TAPIT_INITIATED_BY: must not contain control characters (escape sequences, tabs, line breaks)\n');
  });
});
