import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { docker } from '../support/docker.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { appLines, idFrom, startSystem, type System } from '../support/system.js';

// Files in and out of a task (issue 12 item 4) through the built CLI, scheduler and agent and
// the real Docker engine: `--file LOCAL:/PATH` and `tapit cp TASK:/PATH LOCAL`.
const FILES_MAX = 64 * 1024;
const COPY_MAX = 40_000;
let system: System;
const dir = mkdtempSync(join(tmpdir(), 'tapit-e2e-files-'));
/** Every byte value, NUL and invalid UTF-8 (a lone 0xff, 0xc3 0x28) among them. */
const binary = Buffer.concat([Buffer.from([0, 0xff, 0xc3, 0x28, 0, 10, 13]), Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(20_000)]);
const binaryPath = join(dir, 'data.bin');
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

beforeAll(async () => {
  writeFileSync(binaryPath, binary);
  chmodSync(binaryPath, 0o640);
  system = await startSystem({ schedulerEnv: { TAPIT_TASK_FILES_MAX_BYTES: String(FILES_MAX), TAPIT_COPY_MAX_BYTES: String(COPY_MAX) } });
}, HOOK_TIMEOUT_MS);
afterAll(() => system?.stop(), HOOK_TIMEOUT_MS);

const why = () => system.output();

describe('--file LOCAL:/PATH', () => {
  it('copies a binary file into the container before it starts, byte for byte, with its mode, owned by root', async () => {
    const run = await system.tapit('create', 'task', 'sha256sum /in/deep/data.bin; stat -c "%a %u:%g" /in/deep/data.bin /in/deep', '--file', `${binaryPath}:/in/deep/data.bin`, '--wait');
    expect(run.code, `${run.stderr}\n${why()}`).toBe(0);
    expect(appLines(run.stdout)).toEqual([`${sha256(binary)}  /in/deep/data.bin`, '640 0:0', '755 0:0']);
  });

  it('is written by task:run too', async () => {
    const run = await system.tapit('task:run', '--file', `${binaryPath}:/data.bin`, '--', 'sha256sum', '/data.bin');
    expect(run.code, `${run.stderr}\n${why()}`).toBe(0);
    expect(appLines(run.stdout)).toEqual([`${sha256(binary)}  /data.bin`]);
  });

  it('survives a scheduler restart and an agent away before the task starts', async () => {
    await system.killAgent();
    const created = await system.tapit('create', 'task', 'sha256sum /data.bin', '--file', `${binaryPath}:/data.bin`);
    expect(created.code, created.stderr).toBe(0);
    const id = idFrom(created.stdout);
    await system.restartScheduler();
    await system.restartAgent();
    const task = await system.waitForTask(id, (t) => t.status === 'STOPPED');
    expect(task, why()).toMatchObject({ stopCode: 'EXITED', exitCode: 0 });
    expect((await system.logs(id)).filter((l) => l.stream === 'stdout').map((l) => l.text)).toEqual([`${sha256(binary)}  /data.bin`]);
  });

  it('is refused past the scheduler\'s TAPIT_TASK_FILES_MAX_BYTES, and no task is created', async () => {
    const big = join(dir, 'big.bin');
    writeFileSync(big, randomBytes(FILES_MAX + 1));
    const before = JSON.parse((await system.tapit('list', 'tasks', '--json')).stdout).items.length;
    expect(before).toBeGreaterThan(0);
    const run = await system.tapit('create', 'task', 'true', '--file', `${big}:/big.bin`);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('TAPIT_TASK_FILES_MAX_BYTES');
    expect(run.stderr).not.toMatch(/at .*\.js:\d+/);
    expect(JSON.parse((await system.tapit('list', 'tasks', '--json')).stdout).items.length).toBe(before);
  });

  it('is refused by the CLI before anything is sent past what any scheduler takes (2 MiB)', async () => {
    const huge = join(dir, 'huge.bin');
    writeFileSync(huge, Buffer.alloc(2 * 1024 * 1024 + 1));
    const run = await system.tapit('create', 'task', 'true', '--file', `${huge}:/huge.bin`);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toMatch(/^.*--file: the files hold 2097153 bytes; a task's files may hold at most 2097152 bytes together$/);
  });
});

describe('tapit cp TASK:/PATH LOCAL', () => {
  const running = async (command: string, ...keys: string[]) => {
    const created = await system.tapit('create', 'task', command, '--file', `${binaryPath}:/in/data.bin`, ...keys);
    expect(created.code, created.stderr).toBe(0);
    const id = idFrom(created.stdout);
    await system.waitForTask(id, (t) => t.status === 'RUNNING');
    return id;
  };
  const containersOf = async (id: string) => (await docker('ps', '-a', '-q', '--filter', `label=tapit.task-id=${id}`)).trim();
  const emptyDir = () => mkdtempSync(join(tmpdir(), 'tapit-e2e-cp-'));

  it('copies a binary file out of a running task and of its kept container after it stopped, byte for byte; delete removes the container', async () => {
    const id = await running('trap "exit 0" TERM; sleep 600 & wait', 'keep=10m');
    const out = emptyDir();
    const copied = await system.tapit('cp', `${id}:/in/data.bin`, join(out, 'copy.bin'));
    expect(copied.code, `${copied.stderr}\n${why()}`).toBe(0);
    expect(readFileSync(join(out, 'copy.bin')).equals(binary)).toBe(true);
    expect(statSync(join(out, 'copy.bin')).mode & 0o777).toBe(0o640);

    expect((await system.tapit('task:stop', id)).code).toBe(0);
    expect(await system.waitForTask(id, (t) => t.status === 'STOPPED')).toMatchObject({ status: 'STOPPED' });
    // Into a folder: the file keeps its name.
    const again = await system.tapit('cp', `${id.slice(0, 12)}:/in/data.bin`, out);
    expect(again.code, `${again.stderr}\n${why()}`).toBe(0);
    expect(readFileSync(join(out, 'data.bin')).equals(binary)).toBe(true);
    expect(await containersOf(id)).not.toBe('');

    const audit = (JSON.parse((await system.tapit('list', 'audit', '--action', 'task.copy', '--target', id, '--json')).stdout) as { items: { action: string; targetId: string; details: { path: string; bytes: number } }[] }).items;
    expect(audit.map((e) => ({ action: e.action, target: e.targetId, details: e.details }))).toEqual([
      { action: 'task.copy', target: id, details: { path: '/in/data.bin', bytes: binary.length } },
      { action: 'task.copy', target: id, details: { path: '/in/data.bin', bytes: binary.length } },
    ]);

    expect((await system.tapit('delete', 'task', `task=${id}`)).code).toBe(0);
    await expect.poll(() => containersOf(id), { timeout: 10_000 }).toBe('');
  });

  it('says the container is gone for a stopped task that was not kept (exit 2), and writes nothing', async () => {
    const created = await system.tapit('create', 'task', 'true');
    expect(created.code, created.stderr).toBe(0);
    const id = idFrom(created.stdout);
    await system.waitForTask(id, (t) => t.status === 'STOPPED');
    await expect.poll(() => containersOf(id), { timeout: 10_000 }).toBe('');
    const out = emptyDir();
    const copied = await system.tapit('cp', `${id}:/etc/hostname`, join(out, 'x'));
    expect(copied.code).toBe(2);
    expect(copied.stderr).toMatch(/container is gone.*keep=DURATION/);
    expect(readdirSync(out)).toEqual([]);
  });

  it('refuses a path that does not exist, a directory and a file past TAPIT_COPY_MAX_BYTES (exit 2), writing nothing', async () => {
    const id = await running('head -c 50000 /dev/zero > /tmp/big; trap "exit 0" TERM; sleep 600 & wait');
    const out = emptyDir();
    const missing = await system.tapit('cp', `${id}:/no/such/file`, join(out, 'x'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such file in the task\'s container: /no/such/file');
    const folder = await system.tapit('cp', `${id}:/in`, join(out, 'x'));
    expect(folder.code).toBe(2);
    expect(folder.stderr).toContain('/in is a directory');
    await expect.poll(async () => (await system.tapit('cp', `${id}:/tmp/big`, join(out, 'x'))).stderr, { timeout: 10_000 }).toContain('TAPIT_COPY_MAX_BYTES');
    expect(readdirSync(out)).toEqual([]);
    expect(existsSync(join(out, 'x'))).toBe(false);
    expect((await system.tapit('task:stop', id)).code).toBe(0);
  });
});
