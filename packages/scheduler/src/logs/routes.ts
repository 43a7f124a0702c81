import { filterChunk, filters, LogChunkFollowQuery, LogChunkQuery, LogQuery, type LogChunkPage, type LogFilter, type LogFollowEvent, type LogPage } from '@tapit/protocol';
import { Hono, type Context } from 'hono';
import { stream } from 'hono/streaming';
import { sql } from 'kysely';
import type { z } from 'zod';
import type { AppDeps, HonoEnv } from '../http/context.js';
import { parseQuery } from '../http/validate.js';
import { isDatabaseUnavailable } from '../db/errors.js';
import { findTask } from '../tasks/repository.js';
import { chunkJson, parseChunk, readLogChunks, readLogLines, storedLineCount, type StoredChunk } from './repository.js';

const FollowQuery = LogQuery.pick({ after: true });
/** Lines a line follow reads at a time. */
const BATCH = 5000;
/**
 * Text a chunk page or a chunk follow reads at a time (whole chunks: at least one). A page of
 * 1 KiB lines holds about 4,000 of them, of short lines (`seq`) about 500,000.
 */
const CHUNK_PAGE_BYTES = 4 * 1024 * 1024;

/** What one read of a follow sends: NDJSON text, the position it reached, and whether it stopped at its bound. */
interface FollowBatch {
  text: string;
  last: number;
  more: boolean;
}

export function logRoutes(deps: AppDeps) {
  const { db, signals } = deps;
  const pollMs = deps.followPollMs ?? 500;
  // A quiet task's follow still sends a blank line this often: clients and proxies that drop
  // idle connections (the CLI after 300 s) keep it, and a dead one is noticed.
  const keepAliveMs = deps.followKeepAliveMs ?? 30_000;
  const routes = new Hono<HonoEnv>();

  /**
   * The task's status and whether its log is complete: STOPPED, and not waiting for its agent's
   * late report (a task the scheduler ended while its agent was cut off: see backstops.ts).
   */
  const readLogState = (taskId: string) =>
    db
      .selectFrom('tasks')
      .select(['status', 'exit_code', 'log_expired_at'])
      .select(sql<boolean>`status = 'STOPPED' AND (late_report_until IS NULL OR late_report_until <= now())`.as('complete'))
      .where('id', '=', taskId)
      .executeTakeFirst();

  routes.get('/tasks/:id/logs', async (c) => {
    const task = await findTask(db, c.req.param('id'), c.get('principal').project);
    const { after, limit, tail } = parseQuery(c, LogQuery);
    // Status first: lines stored before it are then all in the read below.
    const state = await readLogState(task.id);
    // An expired log is being deleted (or is gone): none of it is shown, the page says why.
    if (state?.log_expired_at) return c.json({ lines: [], last: after, complete: true, expiredAt: state.log_expired_at.toISOString() } satisfies LogPage);
    const lines = await readLogLines(db, task.id, after, tail ?? limit, tail !== undefined);
    return c.json({
      lines,
      last: lines.length > 0 ? lines[lines.length - 1].position : after,
      complete: state?.complete === true && (tail !== undefined || lines.length < limit),
    });
  });

  /** The log as stored chunks, about CHUNK_PAGE_BYTES of text a page, sent on as the database holds them. */
  routes.get('/tasks/:id/logs/chunks', async (c) => {
    const task = await findTask(db, c.req.param('id'), c.get('principal').project);
    const { after, tail, ...filter } = parseQuery(c, LogChunkQuery);
    const state = await readLogState(task.id);
    if (state?.log_expired_at) return c.json({ chunks: [], last: after, more: false, complete: true, expiredAt: state.log_expired_at.toISOString() } satisfies LogChunkPage);
    // A tail only says where the first page starts: every page is bounded in bytes, and the
    // client asks for the next ones (without the tail) from where the last one ended.
    let from = after;
    if (tail !== undefined) from = filters(filter) ? await filteredTailStart(task.id, after, tail, filter) : Math.max(after, (await storedLineCount(db, task.id)) - tail);
    const { chunks, more } = await readLogChunks(db, task.id, from, { maxBytes: CHUNK_PAGE_BYTES });
    const last = chunks.length > 0 ? chunks[chunks.length - 1]!.first + chunks[chunks.length - 1]!.lines - 1 : from;
    // With a filter, a page may keep nothing and still say `more`.
    const page = `{"chunks":[${filterStored(chunks, filter).map(chunkJson).join(',')}],"last":${last},"more":${more},"complete":${state?.complete === true && !more}}`;
    return c.body(page, 200, { 'content-type': 'application/json' });
  });

  routes.get('/tasks/:id/logs/follow', (c) =>
    follow(c, FollowQuery, () => async (taskId, after) => {
      const lines = await readLogLines(db, taskId, after, BATCH);
      const text = lines.map((line) => `${JSON.stringify({ type: 'line', line } satisfies LogFollowEvent)}\n`).join('');
      return { text, last: lines.length > 0 ? lines[lines.length - 1].position : after, more: lines.length === BATCH };
    }),
  );

  routes.get('/tasks/:id/logs/chunks/follow', (c) =>
    follow(c, LogChunkFollowQuery, ({ after: _, ...filter }) => async (taskId, after, afterStatus) => {
      // What this replica just stored, if it goes on from here; else the database. Not after
      // the status: what is kept here may end before a [system] line stored since, and only
      // the database has every line stored before the status was read.
      const recent = afterStatus ? [] : (deps.recentChunks?.from(taskId, after + 1, CHUNK_PAGE_BYTES) ?? []);
      const { chunks, more } = recent.length > 0 ? { chunks: recent, more: recent.reduce((n, chunk) => n + chunk.runs.length, 0) >= CHUNK_PAGE_BYTES } : await readLogChunks(db, taskId, after, { maxBytes: CHUNK_PAGE_BYTES });
      const text = filterStored(chunks, filter)
        .map((chunk) => `{"type":"chunk","chunk":${chunkJson(chunk)}}\n`)
        .join('');
      const end = chunks.at(-1);
      return { text, last: end ? end.first + end.lines - 1 : after, more };
    }),
  );

  /**
   * Newline-delimited JSON: every line after `after` (read by `read`), status changes as they
   * happen, and one `end` once the task's log is complete (STOPPED, and its agent's last lines
   * are in or will not come: `readLogState`) and every stored line was sent. Woken by local
   * changes, polling for changes made by other replicas.
   */
  async function follow<Q extends { after: number }>(
    c: Context<HonoEnv>,
    schema: z.ZodType<Q>,
    reader: (query: Q) => (taskId: string, after: number, afterStatus: boolean) => Promise<FollowBatch>,
  ) {
    const task = await findTask(db, c.req.param('id') ?? '', c.get('principal').project);
    const query = parseQuery(c, schema);
    const read = reader(query);
    let { after } = query;
    c.header('content-type', 'application/x-ndjson');
    c.header('cache-control', 'no-store');
    return stream(c, async (out) => {
      let wake: (() => void) | undefined;
      let aborted = false;
      const unsubscribe = signals.onTaskChanged(task.id, () => wake?.());
      // A revoked token ends the stream; the follower's next request is refused.
      const unwatch = deps.tokenWatch.watch(c.get('principal').name, () => {
        aborted = true;
        wake?.();
      });
      out.onAbort(() => {
        aborted = true;
        wake?.();
      });
      let lastWrite = Date.now();
      const write = (text: string) => {
        lastWrite = Date.now();
        return out.write(text);
      };
      const send = (event: LogFollowEvent) => write(`${JSON.stringify(event)}\n`);
      /** Sends what `read` found after `after`; true when it stopped at its bound. */
      const sendBatch = async (afterStatus: boolean) => {
        const batch = await read(task.id, after, afterStatus);
        if (batch.text) await write(batch.text);
        after = batch.last;
        return batch.more;
      };
      let lastStatus: string | undefined;
      /** The end of an expired log: its status, and `end` saying when it expired. */
      const endExpired = async (state: { status: string; exit_code: number | null; log_expired_at: Date }) => {
        if (state.status !== lastStatus) await send({ type: 'status', status: state.status as never });
        await send({ type: 'end', status: 'STOPPED', exitCode: state.exit_code, logExpiredAt: state.log_expired_at.toISOString() });
      };
      const pause = (ms: number) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, ms);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        }).finally(() => (wake = undefined));
      try {
        // Nothing of an expired log is sent: what is left of it is being deleted.
        const before = await readLogState(task.id);
        if (before?.log_expired_at) {
          await endExpired({ ...before, log_expired_at: before.log_expired_at });
          aborted = true;
        }
        while (!aborted) {
          try {
            // Catch up in full batches first; the status is only needed once caught up.
            if (await sendBatch(false)) continue;
            // Status, then lines: every line stored before the status was read is sent below.
            const state = await readLogState(task.id);
            if (await sendBatch(true)) continue;
            if (!state) break; // deleted while followed
            if (state.log_expired_at) {
              await endExpired({ ...state, log_expired_at: state.log_expired_at });
              break;
            }
            if (state.status !== lastStatus) {
              lastStatus = state.status;
              await send({ type: 'status', status: state.status as never });
            }
            if (state.complete) {
              await send({ type: 'end', status: 'STOPPED', exitCode: state.exit_code });
              break;
            }
          } catch (error) {
            // The database is away: the follow holds its place (and its client, with keep-alive
            // lines) and reads on once it answers, rather than ending early or with a 500.
            if (!isDatabaseUnavailable(error)) throw error;
          }
          if (aborted) break; // the client left, or its token was revoked, while we read
          if (Date.now() - lastWrite >= keepAliveMs) await write('\n');
          await pause(pollMs);
        }
      } finally {
        unsubscribe();
        unwatch();
      }
    });
  }

  /**
   * Where the last `tail` lines after `after` that the filter keeps start: the position just
   * before the first of them (the end of the log when it keeps none). Which lines the filter
   * keeps is known only once read: the log is read to its end a page at a time, holding only
   * the positions of the kept runs that are still within the tail.
   */
  async function filteredTailStart(taskId: string, after: number, tail: number, filter: LogFilter): Promise<number> {
    const kept: { first: number; lines: number }[] = [];
    let head = 0; // kept[head…] are still within the tail
    let lines = 0;
    let last = after;
    for (;;) {
      const { chunks, more } = await readLogChunks(db, taskId, last, { maxBytes: CHUNK_PAGE_BYTES });
      for (const segment of filterStored(chunks, filter)) {
        kept.push({ first: segment.first, lines: segment.lines });
        lines += segment.lines;
        while (lines - kept[head]!.lines >= tail) lines -= kept[head++]!.lines;
        if (head > 1024) {
          kept.splice(0, head);
          head = 0;
        }
      }
      const end = chunks.at(-1);
      if (end) last = end.first + end.lines - 1;
      if (!more || !end) break;
    }
    if (head >= kept.length) return last;
    return kept[head]!.first + Math.max(0, lines - tail) - 1;
  }

  return routes;
}

/** The lines of stored chunks a filter keeps, as chunks (parsed only when something is left out). */
function filterStored(chunks: StoredChunk[], filter: LogFilter): StoredChunk[] {
  if (!filters(filter)) return chunks;
  return chunks.flatMap((stored) =>
    filterChunk(parseChunk(stored), filter).map((chunk) => {
      const lines = chunk.runs.reduce((n, run) => n + run.lines, 0);
      return lines === stored.lines ? stored : { first: chunk.first, lines, runs: JSON.stringify(chunk.runs) };
    }),
  );
}
