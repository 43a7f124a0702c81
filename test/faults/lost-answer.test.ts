import { Task, TaskList } from '@tapit/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { idFrom, startSystem, type System } from '../support/system.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

/**
 * RELIABILITY.md scenario 19: the scheduler creates the task, the answer never reaches the CLI
 * (the connection is reset as the answer comes back). The CLI retries with the same
 * Idempotency-Key and gets the first task back, so the command runs once.
 */
describe('a create whose answer is lost', () => {
  let system: System;
  let proxy: TcpProxy;

  beforeAll(async () => {
    system = await startSystem();
    proxy = await startTcpProxy({ port: system.scheduler.port });
  }, HOOK_TIMEOUT_MS);
  afterAll(async () => {
    await proxy?.close();
    await system?.stop();
  }, HOOK_TIMEOUT_MS);

  /** Drops the answer to the first create of a task only; the retry goes through. */
  const dropFirstTaskCreate = () => {
    let armed = true;
    const before = proxy.dropped;
    proxy.dropResponses((head) => {
      if (!armed || !/^POST \/v1\/projects\/\S+\/tasks HTTP/m.test(head)) return false;
      armed = false;
      return true;
    });
    return () => proxy.dropped - before;
  };

  const tasksRunning = async (command: string) => {
    const listed = await system.tapit('list', 'tasks', '--json', '--limit', '500');
    expect(listed.code, listed.stderr).toBe(0);
    return TaskList.parse(JSON.parse(listed.stdout)).items.filter((task) => task.command[2] === command);
  };

  it('tapit create task --wait retries, succeeds with the exit code of the one task it made', async () => {
    const dropped = dropFirstTaskCreate();
    const command = 'echo lost-answer-ran; exit 3';
    const result = await runCli(['create', 'task', command, '--wait'], { env: { ...system.env, TAPIT_URL: proxy.url }, timeoutMs: 60_000 });
    expect(dropped(), 'the proxy dropped the first answer').toBe(1);
    expect(result.code, `${result.stdout}\n${result.stderr}\n${system.output()}`).toBe(3);
    expect(result.stdout.match(/lost-answer-ran/g)).toHaveLength(1);
    const tasks = await tasksRunning(command);
    expect(tasks).toHaveLength(1);
    expect(idFrom(result.stdout)).toBe(tasks[0]!.id);
    expect(tasks[0]).toMatchObject({ status: 'STOPPED', exitCode: 3 });
  });

  it('tapit create task (no --wait) prints the one task it made', async () => {
    const dropped = dropFirstTaskCreate();
    const command = 'echo lost-answer-background';
    const result = await runCli(['create', 'task', command, '--json'], { env: { ...system.env, TAPIT_URL: proxy.url } });
    expect(dropped()).toBe(1);
    expect(result.code, result.stderr).toBe(0);
    const printed = Task.parse(JSON.parse(result.stdout));
    const tasks = await tasksRunning(command);
    expect(tasks.map((task) => task.id)).toEqual([printed.id]);
  });
});
