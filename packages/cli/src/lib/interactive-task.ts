import { Task, type CreateTaskRequest } from '@tapit/protocol';
import { ApiError, type ApiClient } from './api-client.js';
import { DETACHED_EXIT_CODE } from './attach.js';
import { connectConsole } from './console-connect.js';
import { appPath, type AppScope } from './context.js';
import { exitCodeOf, followAndPrint, type Io } from './logs.js';
import { taskPath } from './task-arg.js';
import { writeAll } from './terminal.js';

/**
 * `tapit run 'bash'` and `task:run --interactive`: creates an interactive task, shows its
 * `[system]` status lines until it is RUNNING, then connects the terminal to its console.
 * Returns the CLI's exit code (the remote program's, in the end).
 */
export async function runInteractive(client: ApiClient, scope: AppScope, request: CreateTaskRequest, io: Io = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  // The console starts at this terminal's size, not a default the program would see first.
  const terminal = process.stdout.isTTY && process.stdout.columns > 0 ? { cols: process.stdout.columns, rows: process.stdout.rows } : undefined;
  const task = await client.create(`${appPath(scope)}/tasks`, { ...request, kind: 'interactive', ...(terminal ? { terminal } : {}) }, Task);
  await writeAll(io.stdout, `ID:   ${task.id}\n\nStarting Task...\n\n`);
  const started = await waitUntilRunning(client, task, io);
  if (started !== 'RUNNING') return started;
  try {
    return await connectConsole(client, { taskId: task.id, mode: 'attach', tty: true });
  } catch (error) {
    // It ended between RUNNING and our attach (a command that exits at once): its end is the answer.
    if (!(error instanceof ApiError && error.code === 'CONFLICT')) throw error;
    const now = await client.get(taskPath(task.id), Task);
    if (now.status !== 'STOPPED') throw error;
    return exitCodeOf(client, task.id, { status: now.status, exitCode: now.exitCode }, io);
  }
}

/**
 * Follows the log until the task is RUNNING ('RUNNING'), or returns the exit code when it ended
 * before (FAILED_TO_START…) or when Ctrl-C left it while it was starting.
 */
async function waitUntilRunning(client: ApiClient, task: Task, io: Io): Promise<'RUNNING' | number> {
  const controller = new AbortController();
  let running = false;
  const onSigint = () => controller.abort();
  process.on('SIGINT', onSigint);
  try {
    const end = await followAndPrint(client, task.id, task.status, controller.signal, io, (status) => {
      if (status !== 'RUNNING') return;
      running = true;
      controller.abort();
    });
    return await exitCodeOf(client, task.id, end, io);
  } catch (error) {
    if (running) return 'RUNNING';
    if (!controller.signal.aborted) throw error;
    io.stderr.write(
      `\nLeft task ${task.id} while it starts; it keeps running.\n` +
        `Attach to it with: tapit task:attach ${task.id}\n` +
        `Stop it with:      tapit task:stop ${task.id}\n`,
    );
    return DETACHED_EXIT_CODE;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
