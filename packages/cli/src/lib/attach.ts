import type { Task } from '@tapit/protocol';
import type { ApiClient } from './api-client.js';
import { exitCodeOf, followAndPrint, type Io } from './logs.js';
import { writeAll } from './terminal.js';

/** Exit code after Ctrl-C, as a shell reports a SIGINT (128 + 2). */
export const DETACHED_EXIT_CODE = 130;

/**
 * An attached run (`create task --wait`, `task:run`): prints the id, streams the log and returns
 * the task's exit code. Ctrl-C detaches: the task goes on, and we say how to follow it again.
 */
export async function attachToTask(client: ApiClient, task: Task, io: Io = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  await writeAll(io.stdout, `ID:   ${task.id}\n\nStarting Task...\n\n`);
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.on('SIGINT', onSigint);
  try {
    const end = await followAndPrint(client, task.id, task.status, controller.signal, io);
    return await exitCodeOf(client, task.id, end, io);
  } catch (error) {
    if (!controller.signal.aborted) throw error;
    io.stderr.write(
      `\nDetached from task ${task.id}; it keeps running.\n` +
        `Follow it again with: tapit show logs task=${task.id} --follow\n` +
        `Stop it with:         tapit task:stop ${task.id}\n`,
    );
    return DETACHED_EXIT_CODE;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
