import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { appLines, idFrom, startSystem, type System } from '../support/system.js';

// Files in and out of a task (issue 12 item 4) through the built CLI, scheduler and agent and
// the real Docker engine: `--file LOCAL:/PATH` and `tapit cp TASK:/PATH LOCAL`.
const FILES_MAX = 64 * 1024;
let system: System;
const dir = mkdtempSync(join(tmpdir(), 'tapit-e2e-files-'));
/** Every byte value, NUL and invalid UTF-8 (a lone 0xff, 0xc3 0x28) among them. */
const binary = Buffer.concat([Buffer.from([0, 0xff, 0xc3, 0x28, 0, 10, 13]), Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(20_000)]);
const binaryPath = join(dir, 'data.bin');
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

beforeAll(async () => {
  writeFileSync(binaryPath, binary);
  chmodSync(binaryPath, 0o640);
  system = await startSystem({ schedulerEnv: { TAPIT_TASK_FILES_MAX_BYTES: String(FILES_MAX) } });
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
    const before = JSON.parse((await system.tapit('list', 'tasks', '--json')).stdout).length;
    const run = await system.tapit('create', 'task', 'true', '--file', `${big}:/big.bin`);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('TAPIT_TASK_FILES_MAX_BYTES');
    expect(run.stderr).not.toMatch(/at .*\.js:\d+/);
    expect(JSON.parse((await system.tapit('list', 'tasks', '--json')).stdout).length).toBe(before);
  });

  it('is refused by the CLI before anything is sent past what any scheduler takes (2 MiB)', async () => {
    const huge = join(dir, 'huge.bin');
    writeFileSync(huge, Buffer.alloc(2 * 1024 * 1024 + 1));
    const run = await system.tapit('create', 'task', 'true', '--file', `${huge}:/huge.bin`);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toMatch(/^.*--file: the files hold 2097153 bytes; a task's files may hold at most 2097152 bytes together$/);
  });
});
