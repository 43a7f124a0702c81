import { filterChunk, filters, linesOfChunk, LogChunkFollowQuery, LogChunkQuery, LogFollowQuery, LogQuery, type LogChunkPage, type LogFilter, type LogFollowEvent, type LogLine, type LogPage } from '@tapit/protocol';
import { Hono, type Context } from 'hono';
import { stream } from 'hono/streaming';
import type { z } from 'zod';
import type { AppDeps, HonoEnv } from '../http/context.js';
import { parseQuery } from '../http/validate.js';
import { findTask } from '../tasks/repository.js';
import { StreamLimits } from '../http/stream-limits.js';
import { DEFAULT_FOLLOW_BUFFER_BYTES, FollowHub, type FollowFormat } from './follow-hub.js';
import { chunkJson, parseChunk, readLogChunks, readLogState, storedLineCount, type StoredChunk } from './repository.js';

/** Lines a line follow reads at a time. */
const BATCH = 5000;
/**
 * Text a chunk page or a chunk follow reads at a time (whole chunks: at least one). A page of
 * 1 KiB lines holds about 4,000 of them, of short lines (`seq`) about 500,000.
 */
export const CHUNK_PAGE_BYTES = 4 * 1024 * 1024;

/** `…/logs/follow`: a line event per line the filter keeps, read BATCH lines (at most a page's bytes) at a time when catching up. */
const lineFormat = (filter: LogFilter): FollowFormat => ({
  key: `lines ${filter.stream ?? ''} ${filter.since ?? ''}`,
  page: { maxLines: BATCH, maxBytes: CHUNK_PAGE_BYTES },
  text: (chunks) =>
    linesOfStored(filterStored(chunks, filter))
      .map((line) => `${JSON.stringify({ type: 'line', line } satisfies LogFollowEvent)}\n`)
      .join(''),
});

/** `…/logs/chunks/follow`: the chunks as stored, cut to what the filter keeps. */
const chunkFormat = (filter: LogFilter): FollowFormat => ({
  key: `chunks ${filter.stream ?? ''} ${filter.since ?? ''}`,
  page: { maxBytes: CHUNK_PAGE_BYTES },
  text: (chunks) =>
    filterStored(chunks, filter)
      .map((chunk) => `{"type":"chunk","chunk":${chunkJson(chunk)}}\n`)
      .join(''),
});

/** The replica's log follows (the API's, the dashboard's live logs): one shared reader per task. */
export function createFollowHub(deps: Pick<AppDeps, 'db' | 'signals' | 'recentChunks' | 'followPollMs' | 'followKeepAliveMs' | 'followBufferBytes'>): FollowHub {
  return new FollowHub({
    db: deps.db,
    signals: deps.signals,
    recentChunks: deps.recentChunks,
    pollMs: deps.followPollMs ?? 500,
    // A quiet task's follow still sends a blank line this often: clients and proxies that drop
    // idle connections (the CLI after 300 s) keep it, and a dead one is noticed.
    keepAliveMs: deps.followKeepAliveMs ?? 30_000,
    bufferBytes: deps.followBufferBytes ?? DEFAULT_FOLLOW_BUFFER_BYTES,
    pageBytes: CHUNK_PAGE_BYTES,
  });
}

export function logRoutes(deps: AppDeps) {
  const { db } = deps;
  const streamLimits = deps.streamLimits ?? new StreamLimits();
  const routes = new Hono<HonoEnv>();

  /**
   * A page of lines: at most `limit` of those the filter keeps, from at most about
   * CHUNK_PAGE_BYTES of text read (lines of 64 KiB fill it long before 10,000 of them).
   */
  routes.get('/tasks/:id/logs', async (c) => {
    const task = await findTask(db, c.req.param('id'), c.get('principal').project);
    const { after, limit, tail, ...filter } = parseQuery(c, LogQuery);
    // Status first: lines stored before it are then all in the read below.
    const state = await readLogState(db, task.id);
    // An expired log is being deleted (or is gone): none of it is shown, the page says why.
    if (state?.log_expired_at) return c.json({ lines: [], last: after, complete: true, expiredAt: state.log_expired_at.toISOString() } satisfies LogPage);
    const filtered = filters(filter);
    let from = after;
    if (tail !== undefined) from = filtered ? await filteredTailStart(task.id, after, tail, filter) : Math.max(after, (await storedLineCount(db, task.id)) - tail);
    const count = tail ?? limit;
    // Unfiltered, `count` lines read are the page; filtered, the lines kept are counted below.
    const read = await readLogChunks(db, task.id, from, { maxLines: filtered ? Infinity : count, maxBytes: CHUNK_PAGE_BYTES });
    const end = read.chunks.at(-1);
    let last = end ? end.first + end.lines - 1 : from;
    let more = read.more;
    let lines = linesOfStored(filterStored(read.chunks, filter));
    if (lines.length > count) {
      lines = lines.slice(0, count);
      last = lines[count - 1]!.position;
      more = true;
    }
    const complete = state?.complete === true && !more && (tail !== undefined || filtered || lines.length < limit);
    return c.json({ lines, last, complete } satisfies LogPage);
  });

  /** The log as stored chunks, about CHUNK_PAGE_BYTES of text a page, sent on as the database holds them. */
  routes.get('/tasks/:id/logs/chunks', async (c) => {
    const task = await findTask(db, c.req.param('id'), c.get('principal').project);
    const { after, tail, ...filter } = parseQuery(c, LogChunkQuery);
    const state = await readLogState(db, task.id);
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

  const hub = deps.followHub ?? createFollowHub(deps);

  routes.get('/tasks/:id/logs/follow', (c) => follow(c, LogFollowQuery, ({ after: _, ...filter }) => lineFormat(filter)));
  routes.get('/tasks/:id/logs/chunks/follow', (c) => follow(c, LogChunkFollowQuery, ({ after: _, ...filter }) => chunkFormat(filter)));

  /**
   * Newline-delimited JSON: every line after `after`, status changes as they happen, and one
   * `end` once the task's log is complete (STOPPED, and its agent's last lines are in or will
   * not come: `readLogState`) and every stored line was sent (follow-hub.ts). A stream of the
   * token's, counted against its cap and the replica's.
   */
  async function follow<Q extends { after: number }>(c: Context<HonoEnv>, schema: z.ZodType<Q>, formatOf: (query: Q) => FollowFormat) {
    const task = await findTask(db, c.req.param('id') ?? '', c.get('principal').project);
    const query = parseQuery(c, schema);
    const { name } = c.get('principal');
    const release = streamLimits.acquire(name);
    c.header('content-type', 'application/x-ndjson');
    c.header('cache-control', 'no-store');
    try {
      return stream(c, async (out) => {
        const stop = new AbortController();
        // A revoked token ends the stream; the follower's next request is refused.
        const unwatch = deps.tokenWatch.watch(name, () => stop.abort());
        out.onAbort(() => stop.abort());
        try {
          await hub.follow(task.id, query.after, formatOf(query), (bytes) => out.write(bytes), stop.signal);
        } finally {
          unwatch();
          release();
        }
      });
    } catch (error) {
      release();
      throw error;
    }
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

/** Stored chunks as LogLines. */
function linesOfStored(chunks: StoredChunk[]): LogLine[] {
  return chunks.flatMap((chunk) => linesOfChunk(parseChunk(chunk)));
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
