/** @jsxImportSource hono/jsx */
import { formatLogLine, linesOfChunk, type LogStream } from '@tapit/protocol';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { DomainError } from '../domain/domain-error.js';
import type { FollowFormat, FollowHub } from '../logs/follow-hub.js';
import { parseChunk } from '../logs/repository.js';
import { findTask, listTaskEvents } from '../tasks/repository.js';
import { toTask } from '../tasks/task-view.js';
import type { BrowserSocketHandler } from './browser-socket.js';
import { TaskActions, TaskDetails, TaskEvents } from './task-page.js';

/** What the task page's script gets (client/entries/task.ts), one per frame. */
export type LiveTaskMessage =
  /** Lines as `tapit show logs` prints them: [position, text, stream]. */
  | { type: 'lines'; lines: [number, string, LogStream][] }
  /** The details, the events and the buttons, rendered as the page renders them. */
  | { type: 'task'; status: string; details: string; events: string; actions: string }
  /** The log is complete (the task STOPPED and its last lines are in), or expired. */
  | { type: 'end'; exitCode: number | null; logExpiredAt?: string }
  /** The task was deleted. */
  | { type: 'gone' };

/** Lines a catching-up read takes at a time, as the API's line follow. */
const BATCH = 5000;

/** The follow's lines as `lines` frames (NDJSON, one per read): a format of the shared follow hub. */
const dashboardFormat: FollowFormat = {
  key: 'dashboard',
  page: { maxLines: BATCH, maxBytes: 4 * 1024 * 1024 },
  text: (chunks) => {
    const lines = chunks.flatMap((chunk) => linesOfChunk(parseChunk(chunk))).map((line): [number, string, LogStream] => [line.position, formatLogLine(line), line.stream]);
    return lines.length === 0 ? '' : `${JSON.stringify({ type: 'lines', lines } satisfies LiveTaskMessage)}\n`;
  },
};

/**
 * `/live/tasks/ID?after=N`: a task's page, live. The log after line N through the replica's
 * follow hub (the reads and the order of `tapit show logs --follow`: every line stored before a
 * status is sent before it, and `end` after the last), at the browser's pace; and the details
 * and buttons again whenever the status moves or a [system] line (a status or desired status
 * change) comes, read through the token's project as the page was.
 */
export function liveTask(deps: { db: Kysely<Database>; followHub: FollowHub }): BrowserSocketHandler {
  return async (ws, { principal, url, match, signal }) => {
    const after = Number(url.searchParams.get('after') ?? '0');
    if (!Number.isSafeInteger(after) || after < 0) throw new DomainError('VALIDATION_FAILED', 'after: must be a whole number of lines, 0 or more', 'after');
    const task = await findTask(deps.db, decodeReference(match[1]!), principal.project);
    const send = (text: string) =>
      new Promise<void>((resolve, reject) => {
        if (ws.readyState !== ws.OPEN) return reject(new Error('closed'));
        ws.send(text, (error) => (error ? reject(error) : resolve()));
      });

    // One read of the details at a time; a change during it asks for one more after it.
    let reading: Promise<void> | undefined;
    let again = false;
    const refresh = (): void => {
      if (reading) {
        again = true;
        return;
      }
      reading = (async () => {
        do {
          again = false;
          const now = toTask(await findTask(deps.db, task.id, principal.project));
          const events = await listTaskEvents(deps.db, task.id);
          const message: LiveTaskMessage = {
            type: 'task',
            status: now.status,
            details: String(<TaskDetails task={now} />),
            events: String(<TaskEvents events={events} />),
            actions: String(<TaskActions task={now} principal={principal} />),
          };
          await send(JSON.stringify(message));
        } while (again && !signal.aborted);
      })()
        .catch(() => {})
        .finally(() => (reading = undefined));
    };

    let ended = false;
    const decoder = new TextDecoder();
    const sink = async (bytes: Uint8Array) => {
      for (const line of decoder.decode(bytes).split('\n')) {
        if (line === '') continue; // a keep-alive: the socket has its pings
        const event = JSON.parse(line) as { type: string; exitCode?: number | null; logExpiredAt?: string; lines?: [number, string, LogStream][] };
        if (event.type === 'lines') {
          await send(line);
          if (event.lines!.some(([, , stream]) => stream === 'system')) refresh();
        } else if (event.type === 'status') {
          refresh();
        } else if (event.type === 'end') {
          ended = true;
          refresh();
          await reading;
          await send(JSON.stringify({ type: 'end', exitCode: event.exitCode ?? null, ...(event.logExpiredAt ? { logExpiredAt: event.logExpiredAt } : {}) } satisfies LiveTaskMessage));
        }
      }
    };
    const stop = new AbortController();
    signal.addEventListener('abort', () => stop.abort());
    ws.on('message', () => {});
    // The details as they are now: what changed between the page and its socket.
    refresh();
    await deps.followHub.follow(task.id, after, dashboardFormat, sink, stop.signal);
    if (signal.aborted) return;
    await reading;
    // The follow ended without `end`: the task is gone.
    if (!ended) await send(JSON.stringify({ type: 'gone' } satisfies LiveTaskMessage)).catch(() => {});
    ws.close(1000, ended ? 'the log is complete' : 'the task was deleted');
  };
}

/** The task reference of a socket's path; a malformed escape is the client's error (4xx), not the server's. */
function decodeReference(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new DomainError('VALIDATION_FAILED', 'task: not a task id or a prefix of one', 'task');
  }
}
