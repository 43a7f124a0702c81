import type { ConsoleOpen } from '@tapit/protocol';
import type { DriverTask, ExecProcess } from '../drivers/driver.js';
import { errorMessage, log } from '../log.js';
import { STREAM_BUFFER_LIMIT, type ConsoleStream } from './console-stream.js';

/**
 * Serves an exec session: runs the command in the task and pipes it to the stream until it ends,
 * then sends its exit code. A slow user pauses only this command's output (like a full pipe);
 * the task's own program is never held up.
 */
export async function serveExec(stream: ConsoleStream, task: DriverTask, frame: ConsoleOpen): Promise<void> {
  if (!task.exec) return stream.end({ type: 'error', message: 'this agent cannot run commands in tasks (no exec support)' });
  if (!frame.command || frame.command.length === 0) return stream.end({ type: 'error', message: 'exec needs a command' });
  let process: ExecProcess;
  try {
    process = await task.exec({ command: frame.command, tty: frame.tty, size: frame.size });
  } catch (error) {
    return stream.end({ type: 'error', message: `exec failed: ${errorMessage(error)}` });
  }
  stream.control({ type: 'attached', sessionId: stream.sessionId, replayed: 0 });
  let paused: NodeJS.Timeout | null = null;
  process.onOutput((channel, chunk) => {
    stream.data(channel === 'stderr' ? 2 : 1, chunk);
    if (!paused && stream.bufferedAmount > STREAM_BUFFER_LIMIT) {
      process.pause();
      paused = setInterval(() => {
        if (stream.open && stream.bufferedAmount > STREAM_BUFFER_LIMIT / 2) return;
        clearInterval(paused!);
        paused = null;
        process.resume();
      }, 50);
    }
  });
  stream.on({
    stdin: (data) => process.write(data),
    control: (control) => {
      if (control.type === 'resize') process.resize(control).catch(() => undefined);
      else if (control.type === 'stdin.close') process.closeStdin();
      else if (control.type === 'detach') stream.end();
    },
  });
  // The user went away: the command's input ends; it cannot be reattached.
  stream.onClose(() => process.release());
  const exitCode = await process.wait();
  if (paused) clearInterval(paused);
  log('console.exec-ended', { session: stream.sessionId, task: frame.taskId, exitCode });
  stream.end({ type: 'exited', exitCode });
}
