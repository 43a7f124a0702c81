import { filters, LogChunkPage, LogPage, Task, type LogChunk, type LogFilter, type LogLine, type TaskStatus } from '@tapit/protocol';
import { isMissingRoute, needsNewerScheduler, type ApiClient } from './api-client.js';
import { followLog, type FollowEnd } from './follow.js';
import { escapeControlCharacters, escapesFor } from './control-characters.js';
import { chunkAfter, chunkOfLine, formatChunks, type LogFormat } from './log-chunks.js';
import { WaitingLine, writeAll } from './terminal.js';

export interface Io {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  /** Task output with its control characters even on a terminal (`--raw`); escaped there otherwise. */
  raw?: boolean;
  /** How lines are printed: with or without times, or the output alone (`--raw`). */
  format?: LogFormat;
}

/** Which lines to read: `show logs --tail`, `--stream`, `--since`. */
export interface LogSelection extends LogFilter {
  /** The last this many lines (of those the filter keeps). */
  tail?: number;
}

export const processIo = (): Io => ({ stdout: process.stdout, stderr: process.stderr });

/** How far a read of the log went: the position it reached, and when the log expired if it had. */
export interface LogRead {
  last: number;
  expiredAt?: string;
}

/** Why a log is gone: `log retention deleted it at 2026-11-30 18:00:00 UTC (…)`. */
export function logExpiry(expiredAt: string): string {
  const when = new Date(expiredAt).toISOString().slice(0, 19).replace('T', ' ');
  return `log retention deleted it at ${when} UTC (the task finished longer ago than its app or the scheduler keeps logs)`;
}

/**
 * One line saying the log is gone (the task stays). Said instead of an empty log, on stderr, so
 * `--raw > file` still holds only what the task printed.
 */
export function expiredLogLine(taskId: string, expiredAt: string): string {
  return `The log of task ${taskId} expired: ${logExpiry(expiredAt)}\n`;
}

/** Reads the whole stored log, a page of chunks at a time, handing each page on as it arrives. */
export async function readLog(client: ApiClient, taskId: string, onChunks: (chunks: LogChunk[]) => void | Promise<void>, selection: LogSelection = {}): Promise<LogRead> {
  const { tail, ...filter } = selection;
  let after = 0;
  for (;;) {
    // The tail places the first page; the pages after it go on from there to the end.
    const query = after === 0 ? { after, tail, ...filter } : { after, ...filter };
    const page = await client.get(`/v1/tasks/${encodeURIComponent(taskId)}/logs/chunks`, LogChunkPage, query).catch((error: unknown) => {
      if (after === 0 && isMissingRoute(error)) return null;
      throw error;
    });
    if (page === null) return readLogLines(client, taskId, onChunks, selection);
    // A page starts after `after`; cut anyway, so a line can never show twice.
    const chunks = page.chunks.map((chunk) => chunkAfter(chunk, after)).filter((chunk): chunk is LogChunk => chunk !== null);
    if (chunks.length > 0) await onChunks(chunks);
    if (page.expiredAt) return { last: page.last, expiredAt: page.expiredAt };
    if (!page.more || page.last <= after) return { last: page.last };
    after = page.last;
  }
}

/** The longest page and tail of a scheduler from before chunks. */
const LINE_PAGE = 10_000;

/** readLog from a scheduler from before chunks: pages of lines, no filters, a tail of at most LINE_PAGE. */
async function readLogLines(client: ApiClient, taskId: string, onChunks: (chunks: LogChunk[]) => void | Promise<void>, selection: LogSelection): Promise<LogRead> {
  const { tail, ...filter } = selection;
  if (filters(filter)) throw needsNewerScheduler(filter.stream !== undefined ? '--stream' : '--since');
  if (tail !== undefined && tail > LINE_PAGE) throw needsNewerScheduler(`--tail above ${LINE_PAGE}`);
  let after = 0;
  for (let tailed = tail !== undefined; ; tailed = false) {
    // The tail places the first page, as with chunks; the pages after it go on to the end.
    const page = await client.get(`/v1/tasks/${encodeURIComponent(taskId)}/logs`, LogPage, tailed ? { tail } : { after, limit: LINE_PAGE });
    const lines = page.lines.filter((line) => line.position > after);
    if (lines.length > 0) await onChunks(lines.map(chunkOfLine));
    if (page.expiredAt) return { last: page.last, expiredAt: page.expiredAt };
    after = Math.max(after, page.last);
    if (!tailed && page.lines.length < LINE_PAGE) return { last: after };
  }
}

/**
 * Prints the stored log (the lines selected) without holding it in memory, or the line saying it
 * expired; returns the position it read to.
 */
export async function printLog(client: ApiClient, taskId: string, io: Io = processIo(), selection: LogSelection = {}): Promise<number> {
  const read = await readLog(client, taskId, (chunks) => printChunks(chunks, io), selection);
  if (read.expiredAt) io.stderr.write(expiredLogLine(taskId, read.expiredAt));
  return read.last;
}

/**
 * Streams a task's log to stdout until the task ends, with a waiting line on a terminal while
 * it has not started yet. Returns how it ended; throws when the signal aborts. `onStatus` sees
 * each status after the lines logged before it were printed (an interactive run stops at RUNNING).
 */
export async function followAndPrint(
  client: ApiClient,
  taskId: string,
  initialStatus: TaskStatus | null,
  signal?: AbortSignal,
  io: Io = processIo(),
  onStatus?: (status: TaskStatus) => void,
  /** Where to start (after a printed tail) and which lines to take. */
  from: { after?: number; filter?: LogFilter } = {},
): Promise<FollowEnd> {
  const waiting = new WaitingLine(io.stderr);
  let status = initialStatus;
  let reconnecting = false;
  const redraw = () => {
    if (status === 'PROVISIONING') waiting.show('Waiting for an agent with room for the task');
    else if (status === 'PENDING') waiting.show('Starting the container on its agent');
    else waiting.clear();
  };
  redraw();
  try {
    return await followLog(
      client,
      taskId,
      {
        onLines: async (lines) => {
          reconnecting = false;
          waiting.clear();
          await printLines(lines, io);
          redraw();
        },
        onChunks: async (chunks) => {
          reconnecting = false;
          waiting.clear();
          await printChunks(chunks, io);
          redraw();
        },
        onStatus: (next) => {
          status = next;
          redraw();
          onStatus?.(next);
        },
        onReconnect: (reason) => {
          if (reconnecting) return;
          reconnecting = true;
          waiting.clear();
          io.stderr.write(`Lost the log stream (${reason}); reconnecting…\n`);
        },
      },
      { signal, ...from },
    ).then((end) => {
      if (end.logExpiredAt) io.stderr.write(expiredLogLine(taskId, end.logExpiredAt));
      return end;
    });
  } finally {
    waiting.clear();
  }
}

/**
 * What a finished task means for the CLI's exit code: its own exit code, or 1 when it has none
 * (it never started, or was stopped) — then the stop code and reason say why, on stderr.
 */
export async function exitCodeOf(client: ApiClient, taskId: string, end: FollowEnd, io: Io = processIo()): Promise<number> {
  if (end.exitCode === 0) return 0;
  const task = await client.get(`/v1/tasks/${encodeURIComponent(taskId)}`, Task).catch(() => null);
  if (task?.stopCode && task.stopCode !== 'EXITED') {
    // The reason can quote the engine or the task (an image name, an error): shown, not obeyed.
    const reason = task.stopReason && escapesFor(io.stderr) ? escapeControlCharacters(task.stopReason) : task.stopReason;
    io.stderr.write(`Task stopped: ${task.stopCode}${reason ? `: ${reason}` : ''}\n`);
  } else if (end.exitCode === null) {
    io.stderr.write('Task stopped without an exit code\n');
  }
  return end.exitCode ?? 1;
}

/** Prints chunks a few at a time (about 1 MiB of output a write), waiting whenever stdout is full. */
async function printChunks(chunks: readonly LogChunk[], io: Io): Promise<void> {
  const escape = escapesFor(io.stdout, io.raw);
  for (let i = 0; i < chunks.length; i += 4) await writeAll(io.stdout, formatChunks(chunks.slice(i, i + 4), escape, io.format));
}

/** Lines (from a scheduler before chunks), each printed as a chunk of one line. */
async function printLines(lines: readonly LogLine[], io: Io): Promise<void> {
  if (lines.length === 0) return;
  const escape = escapesFor(io.stdout, io.raw);
  const chunks = lines.map((line) => ({ first: line.position, runs: [{ stream: line.stream, at: line.at, lines: 1, text: `${line.text}\n` }] }));
  await writeAll(io.stdout, formatChunks(chunks, escape, io.format));
}
