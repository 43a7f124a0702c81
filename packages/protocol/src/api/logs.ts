import { z } from 'zod';
import { Timestamp } from '../common/ids.js';
import { TaskStatus } from '../common/status.js';
import { linesOfRun, LogRun, LogStream } from './log-runs.js';

export const LogLine = z.object({
  /** Position of the line in the task's log; strictly increasing, pass as `after` to page. */
  position: z.number().int().positive(),
  stream: LogStream,
  text: z.string(),
  at: Timestamp,
});
export type LogLine = z.infer<typeof LogLine>;

export const LogPage = z.object({
  lines: z.array(LogLine),
  /**
   * Position of the last line read (the last one returned, unless a filter left lines out after
   * it; else the `after` given); pass as `after` for more. A page holds at most `limit` lines
   * and about 4 MiB of text: a filtered page may hold none and still not be the end.
   */
  last: z.number().int().nonnegative(),
  /**
   * Whether the task has finished and its agent's last lines are in (or will not come: a task
   * ended while its agent was cut off waits for the agent's late report for one grace period);
   * with no more lines, the log is complete.
   */
  complete: z.boolean(),
  /**
   * Set when the log expired: retention deleted it at this time (the task finished longer ago
   * than its app's or the scheduler's log retention); then no lines are returned, ever again.
   */
  expiredAt: Timestamp.optional(),
});
export type LogPage = z.infer<typeof LogPage>;

/**
 * Which lines of a log to send (every log page and follow): only those of one
 * stream, only those stamped at or after a time. Lines left out keep their positions: a chunk
 * sent is cut into the stretches of lines kept, each with its own `first`.
 */
export const LogFilterQuery = z.strictObject({
  stream: LogStream.optional(),
  since: Timestamp.optional(),
});
export type LogFilter = z.infer<typeof LogFilterQuery>;

export const LogQuery = z.strictObject({
  after: z.coerce.number().int().nonnegative().max(2147483647).default(0),
  limit: z.coerce.number().int().min(1).max(10000).default(1000),
  /** The last `tail` lines (of those the filters keep) instead of the first ones after `after` (for `show task`). */
  tail: z.coerce.number().int().min(1).max(10000).optional(),
  ...LogFilterQuery.shape,
});

/** The query of `…/logs/follow`: lines after `after`, filtered. */
export const LogFollowQuery = LogQuery.pick({ after: true, stream: true, since: true });

/** The longest `tail` of a chunk page, in lines. */
export const MAX_LOG_CHUNK_TAIL = 1_000_000;

/**
 * Consecutive lines of a task's log as they are stored: positions `first`, `first + 1`, … in
 * the order of its runs' lines.
 */
export const LogChunk = z.object({
  /** Position of the chunk's first line. */
  first: z.number().int().positive(),
  runs: z.array(LogRun).min(1),
});
export type LogChunk = z.infer<typeof LogChunk>;

/** A chunk's lines, each with its position. */
export function linesOfChunk(chunk: LogChunk): LogLine[] {
  const lines: LogLine[] = [];
  let position = chunk.first;
  for (const run of chunk.runs) for (const text of linesOfRun(run)) lines.push({ position: position++, stream: run.stream, text, at: run.at });
  return lines;
}

/** A page of `GET /v1/tasks/:id/logs/chunks`: whole chunks (the first one cut to start after `after`). */
export const LogChunkPage = z.object({
  chunks: z.array(LogChunk),
  /** Position of the last line returned (or the `after` given); pass as `after` for more. */
  last: z.number().int().nonnegative(),
  /** The page stopped at its size: more lines may follow `last` already. */
  more: z.boolean(),
  /** As `LogPage.complete`: the task's log is complete and this page reached its end. */
  complete: z.boolean(),
  /** As `LogPage.expiredAt`: the log was deleted by retention then; no chunks are returned. */
  expiredAt: Timestamp.optional(),
});
export type LogChunkPage = z.infer<typeof LogChunkPage>;

export const LogChunkQuery = z.strictObject({
  after: z.coerce.number().int().nonnegative().max(2147483647).default(0),
  /** The last `tail` lines (of those the filters keep) instead of the chunks after `after`. */
  tail: z.coerce.number().int().min(1).max(MAX_LOG_CHUNK_TAIL).optional(),
  ...LogFilterQuery.shape,
});

/** The query of `…/logs/chunks/follow`: lines after `after`, filtered. */
export const LogChunkFollowQuery = LogChunkQuery.pick({ after: true, stream: true, since: true });

/**
 * One line of a followed log (`GET /v1/tasks/:id/logs/follow`, newline-delimited JSON):
 * log lines as they are stored (chunks of them from `…/logs/chunks/follow`), then one `end` with the task's final state once its log is
 * complete (as `LogPage.complete`: a `status` STOPPED may come well before it).
 */
export const LogFollowEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('line'), line: LogLine }),
  /** Only from `GET /v1/tasks/:id/logs/chunks/follow`, which sends chunks instead of lines. */
  z.object({ type: z.literal('chunk'), chunk: LogChunk }),
  z.object({ type: z.literal('status'), status: TaskStatus }),
  z.object({
    type: z.literal('end'),
    status: TaskStatus,
    exitCode: z.number().int().nullable(),
    /** As `LogPage.expiredAt`: the log was deleted by retention then (the lines sent may stop short of its end). */
    logExpiredAt: Timestamp.optional(),
  }),
]);
export type LogFollowEvent = z.infer<typeof LogFollowEvent>;

/** `2021-03-17 09:58:34 [app] text`, in UTC. */
export function formatLogLine(line: Pick<LogLine, 'stream' | 'text' | 'at'>): string {
  return `${logLinePrefix(line.stream, line.at)}${line.text}`;
}

/** What comes before a line's text: `2021-03-17 09:58:34 [app] `, in UTC. */
export function logLinePrefix(stream: LogStream, at: string): string {
  // A Timestamp may carry an offset (`+01:00`); shift it to UTC so every line reads alike.
  const millis = Date.parse(at);
  const utc = Number.isNaN(millis) ? at : new Date(millis).toISOString();
  const when = utc.slice(0, 19).replace('T', ' ');
  return `${when} [${stream === 'system' ? 'system' : 'app'}] `;
}

/**
 * The chunk's lines the filter keeps, as chunks of consecutive positions (none if it keeps
 * none; the chunk itself if it keeps all). A run is kept or left whole: its lines share a
 * stream and a time.
 */
export function filterChunk(chunk: LogChunk, filter: LogFilter): LogChunk[] {
  const since = filter.since === undefined ? -Infinity : Date.parse(filter.since);
  const keep = (run: LogRun) => (filter.stream === undefined || run.stream === filter.stream) && Date.parse(run.at) >= since;
  if (chunk.runs.every(keep)) return [chunk];
  const out: LogChunk[] = [];
  let position = chunk.first;
  let current: LogChunk | null = null;
  for (const run of chunk.runs) {
    if (keep(run)) {
      if (!current) out.push((current = { first: position, runs: [] }));
      current.runs.push(run);
    } else {
      current = null;
    }
    position += run.lines;
  }
  return out;
}

/** Whether a filter leaves any line out. */
export function filters(filter: LogFilter): boolean {
  return filter.stream !== undefined || filter.since !== undefined;
}
