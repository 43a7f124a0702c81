import type { ApiClient } from './api-client.js';
import { DETACH_KEYS_LABEL } from './detach-keys.js';
import { ConsoleSession, sizeOf, type ConsoleEnd } from './console-session.js';
import { openConsoleSocket } from './console-socket.js';
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
export async function connectConsole(client: ApiClient, target: ConsoleTarget, io: ConnectIo = processIo()): Promise<number> {
  const size = (target.tty ? sizeOf(io.stdout) : undefined) ?? { cols: 80, rows: 24 };
  const query =
    target.mode === 'attach'
      ? { cols: size.cols, rows: size.rows }
      : { command: JSON.stringify(target.command ?? []), tty: target.tty ? '1' : '0', cols: size.cols, rows: size.rows };
  const socket = await openConsoleSocket(client, taskPath(target.taskId, target.mode === 'attach' ? '/console' : '/exec'), query);
  const terminal = new RawTerminal({ stdin: io.stdin, stdout: io.stdout });
  let end: ConsoleEnd;
  try {
    const session = new ConsoleSession(socket, io, {
      detachKeys: target.tty && terminal.isTerminal,
      closeStdin: !target.tty,
      resizeFrom: target.tty && io.stdout.isTTY ? io.stdout : undefined,
    });
    if (target.tty && terminal.isTerminal && target.mode === 'attach') {
      io.stderr.write(`Connected to task ${target.taskId}. Detach with ${DETACH_KEYS_LABEL}.\r\n`);
    }
    terminal.enter((signal) => session.leave(signal));
    end = await session.run();
  } finally {
    await terminal.discardPendingInput();
    terminal.restore();
    // Reading a terminal keeps the process alive; the session is over, so is the reading.
    io.stdin.pause();
  }
  return report(end, target, io.stderr);
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
