import { Task } from '@tapit/protocol';
import type { ApiClient } from './api-client.js';
import { DETACH_KEYS_LABEL } from './detach-keys.js';
import { InputLedger } from './input-ledger.js';
import { ConsoleSession, sizeOf, type ConsoleEnd } from './console-session.js';
import { openConsoleSocket } from './console-socket.js';
import { reconnectConsole, reconnectSeconds, StatusLine } from './console-reconnect.js';
import { shellJoin } from './output.js';
import { RawTerminal } from './raw-terminal.js';
import { taskPath } from './task-arg.js';

export interface ConsoleTarget {
  taskId: string;
  /** attach: the task's own console; exec: `command` as a new process in the task. */
  mode: 'attach' | 'exec';
  command?: string[];
  /** A TTY (raw mode, resize, detach keys) rather than plain pipes. */
  tty: boolean;
}

export interface ConnectIo {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

const processIo = (): ConnectIo => ({ stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });

const SIGNAL_NUMBERS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;

/** Whether this process can offer a TTY session: the keyboard and the screen are both terminals. */
export function bothTerminals(io: ConnectIo = processIo()): boolean {
  return io.stdin.isTTY === true && io.stdout.isTTY === true;
}

/**
 * Connects this process's terminal (or pipes) to a console or exec session and returns the CLI's
 * exit code: the remote program's, 0 after a detach, 1 when the session failed or dropped,
 * 128+N after signal N. The terminal is restored before anything is printed.
 */
export async function connectConsole(client: ApiClient, target: ConsoleTarget, io: ConnectIo = processIo(), env: NodeJS.ProcessEnv = process.env): Promise<number> {
  // A console whose link drops is opened again (an exec's process ends with its link: not that).
  const reconnectMs = target.mode === 'attach' ? reconnectSeconds(env) * 1000 : 0;
  // What was typed, so keys in flight when a link breaks are sent again once it is back.
  const ledger = reconnectMs > 0 ? new InputLedger() : undefined;
  const open = () => {
    const size = (target.tty ? sizeOf(io.stdout) : undefined) ?? { cols: 80, rows: 24 };
    const query =
      target.mode === 'attach'
        ? { cols: size.cols, rows: size.rows, ...(ledger ? { client: ledger.client } : {}) }
        : { command: JSON.stringify(target.command ?? []), tty: target.tty ? '1' : '0', cols: size.cols, rows: size.rows };
    return openConsoleSocket(client, taskPath(target.taskId, target.mode === 'attach' ? '/console' : '/exec'), query);
  };
  let socket = await open();
  const terminal = new RawTerminal({ stdin: io.stdin, stdout: io.stdout });
  const stop = new AbortController();
  let session: ConsoleSession | undefined;
  let end: ConsoleEnd;
  try {
    if (target.tty && terminal.isTerminal && target.mode === 'attach') {
      io.stderr.write(`Connected to task ${target.taskId}. Detach with ${DETACH_KEYS_LABEL}.\r\n`);
    }
    // A signal leaves the session under way, or stops reconnecting.
    terminal.enter((signal) => {
      stop.abort(signal);
      session?.leave(signal);
    });
    for (;;) {
      session = new ConsoleSession(socket, io, {
        detachKeys: target.tty && terminal.isTerminal,
        closeStdin: !target.tty,
        resizeFrom: target.tty && io.stdout.isTTY ? io.stdout : undefined,
        shownUpTo: session?.shown,
        ledger,
        resuming: session !== undefined,
      });
      end = await session.run();
      if (end.type !== 'dropped' || reconnectMs === 0 || stop.signal.aborted) break;
      // The terminal stays raw and what is typed meanwhile waits in it; the user sees a pause.
      const again = await reconnectConsole({
        forMs: reconnectMs,
        reason: end.reason,
        open,
        taskEnd: () => endedTask(client, target.taskId),
        status: new StatusLine(io.stderr),
        stop: stop.signal,
      });
      if ('end' in again) {
        end = again.end;
        break;
      }
      socket = again.socket;
    }
  } finally {
    await terminal.discardPendingInput();
    terminal.restore();
    // Reading a terminal keeps the process alive; the session is over, so is the reading.
    io.stdin.pause();
  }
  return report(end, target, io.stderr);
}

/** How the console ended if its task stopped (while the link was down); undefined while it has not. */
async function endedTask(client: ApiClient, taskId: string): Promise<ConsoleEnd | undefined> {
  const task = await client.get(taskPath(taskId), Task);
  return task.status === 'STOPPED' ? { type: 'exited', exitCode: task.exitCode ?? null } : undefined;
}

/** Says how the session ended, on stderr (stdout is the program's), and picks the exit code. */
export function report(end: ConsoleEnd, target: ConsoleTarget, stderr: NodeJS.WritableStream): number {
  const id = target.taskId;
  const what = target.mode === 'attach' ? `the console of task ${id}` : `${shellJoin(target.command ?? [])} in task ${id}`;
  const reattach = target.mode === 'attach' ? ` Reattach with: tapit task:attach ${id}` : '';
  const say = (text: string) => {
    try {
      stderr.write(text);
    } catch {
      // SIGHUP: the terminal is gone, and so is anyone to tell.
    }
  };
  switch (end.type) {
    case 'exited':
      if (end.exitCode === null) say(`\n${capitalize(what)} ended without an exit code.\n`);
      return end.exitCode ?? 1;
    case 'detached':
      say(target.mode === 'attach' ? `\nDetached from task ${id}: it keeps running.${reattach}\n` : `\nDetached from ${what}: it keeps running there.\n`);
      return 0;
    case 'error':
      say(`\nError: ${end.message}\n`);
      return 1;
    case 'dropped':
      say(`\nLost the connection to ${what} (${end.reason}).${target.mode === 'attach' ? ` It keeps running.${reattach}` : ''}\n`);
      return 1;
    case 'signal':
      say(`\nLeft ${what} (${end.signal}): it keeps running.${reattach}\n`);
      return 128 + SIGNAL_NUMBERS[end.signal];
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
