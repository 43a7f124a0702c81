import { filters, LogFollowEvent, linesOfChunk, type LogChunk, type LogFilter, type LogLine, type TaskStatus } from '@tapit/protocol';
import { ApiError, isMissingRoute, needsNewerScheduler, type ApiClient } from './api-client.js';
import { chunkAfter, lastPosition } from './log-chunks.js';
import { ndjsonBatches } from './ndjson.js';

export interface FollowHandlers {
  /** Lines in log order, a batch at a time; awaited, so a slow terminal slows the reading. */
  onLines(lines: LogLine[]): void | Promise<void>;
  /** Chunks in log order, a batch at a time, if taken as they come (else as lines, to onLines); awaited. */
  onChunks?(chunks: LogChunk[]): void | Promise<void>;
  onStatus?(status: TaskStatus): void;
  /** The stream dropped and is being reopened from the last line seen. */
  onReconnect?(reason: string): void;
}

export interface FollowEnd {
  status: TaskStatus;
  exitCode: number | null;
  /** The log expired (log retention deleted it) at this time: the lines seen may stop short. */
  logExpiredAt?: string;
}

export interface FollowOptions {
  /** Position of the last line already shown; 0 for the whole log. */
  after?: number;
  /** Only the lines of a stream, or stamped since a time (`show logs --stream`, `--since`). */
  filter?: LogFilter;
  signal?: AbortSignal;
  /** How long the scheduler may stay unreachable before giving up. */
  giveUpAfterMs?: number;
  /** First retry delay; doubles up to 5 s. */
  retryDelayMs?: number;
}

/**
 * Follows a task's log (as chunks: `…/logs/chunks/follow`) until its `end` event. If the stream
 * drops (scheduler restart, proxy timeout, network blip) it reopens from the last position seen,
 * so no line is lost or repeated.
 */
export async function followLog(client: ApiClient, taskId: string, handlers: FollowHandlers, options: FollowOptions = {}): Promise<FollowEnd> {
  const { signal, giveUpAfterMs = 120_000, retryDelayMs = 250 } = options;
  let after = options.after ?? 0;
  let failingSince: number | null = null;
  let connected = false;
  let delay = retryDelayMs;
  // A scheduler from before chunks has only the line follow, without filters.
  let chunks = true;
  for (;;) {
    let reason = 'the stream ended before the task did';
    try {
      const path = `/v1/tasks/${encodeURIComponent(taskId)}/logs/${chunks ? 'chunks/follow' : 'follow'}`;
      const response = await client.stream(path, chunks ? { after, ...options.filter } : { after }, signal).catch((error: unknown) => {
        if (!chunks || !isMissingRoute(error)) throw error;
        if (options.filter && filters(options.filter)) throw needsNewerScheduler(options.filter.stream !== undefined ? '--stream' : '--since');
        chunks = false;
        return null;
      });
      if (response === null) continue;
      connected = true;
      failingSince = null;
      delay = retryDelayMs;
      for await (const texts of ndjsonBatches(response.body)) {
        let lines: LogLine[] = [];
        let chunks: LogChunk[] = [];
        const hand = async () => {
          if (chunks.length > 0) await (handlers.onChunks ? handlers.onChunks(chunks) : handlers.onLines(chunks.flatMap(linesOfChunk)));
          if (lines.length > 0) await handlers.onLines(lines);
          lines = [];
          chunks = [];
        };
        for (const text of texts) {
          const event = parseEvent(text);
          // After a reconnect the server may resend what we have; positions make that harmless.
          if (event.type === 'line') {
            if (event.line.position > after) {
              if (chunks.length > 0) await hand();
              lines.push(event.line);
              after = event.line.position;
            }
            continue;
          }
          if (event.type === 'chunk') {
            const fresh = chunkAfter(event.chunk, after);
            if (fresh) {
              if (lines.length > 0) await hand();
              chunks.push(fresh);
              after = lastPosition(fresh);
            }
            continue;
          }
          await hand();
          if (event.type === 'end') return { status: event.status, exitCode: event.exitCode, ...(event.logExpiredAt ? { logExpiredAt: event.logExpiredAt } : {}) };
          handlers.onStatus?.(event.status);
        }
        await hand();
      }
    } catch (error) {
      if (signal?.aborted) throw error;
      // A 4xx (task deleted, token revoked) will not get better by retrying, but for the stream
      // this one replaces: the scheduler may not have seen it end yet, and still count it.
      const replacing = connected && error instanceof ApiError && error.code === 'TOO_MANY_STREAMS';
      if (error instanceof ApiError && error.status !== null && error.status < 500 && !replacing) throw error;
      if (error instanceof ApiError && error.code === 'BAD_RESPONSE') throw error;
      // Retrying only makes sense for a scheduler we have reached before (a wrong URL fails fast).
      if (!connected) throw error;
      failingSince ??= Date.now();
      if (Date.now() - failingSince > giveUpAfterMs) throw error;
      reason = error instanceof Error ? error.message : String(error);
    }
    handlers.onReconnect?.(reason);
    await sleep(delay, signal);
    delay = Math.min(delay * 2, 5000);
  }
}

function parseEvent(text: string): LogFollowEvent {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const result = LogFollowEvent.safeParse(json);
  if (!result.success) throw new ApiError(`unexpected log event from the scheduler: ${text.slice(0, 200)}`, null, 'BAD_RESPONSE');
  return result.data;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
