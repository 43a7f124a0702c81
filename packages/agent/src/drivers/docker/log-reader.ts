import type { OutputCursor, OutputLine } from '../driver.js';
import { toIso, toNanos, toSinceParam } from './timestamps.js';

/** Longest piece of one line kept in memory; longer lines are cut (the spool cuts at 64 KiB too). */
export const MAX_LINE_BYTES = 64 * 1024;

/**
 * How long a message can wait between Docker stamping it and writing it to the log file (see
 * `sinceParam`).
 */
export const STAMP_TO_WRITE_SKEW_NS = 5_000_000_000n;

type Stream = 'stdout' | 'stderr';
const STREAMS = ['stdout', 'stderr'] as const;

/** The timestamp of the last message of one stream consumed, and how many carried exactly it. */
export interface StreamCursor {
  ts: string;
  n: number;
}

/**
 * Where a read of `docker logs --timestamps` stopped, per stream. Docker stamps each stream's
 * messages in its own copier and writes them through one lock, so within a stream file order is
 * timestamp order but across streams it is not: a stderr line stamped before the last stdout
 * line can be written after it. One cursor per stream never skips such a line.
 */
export interface DockerCursor {
  stdout?: StreamCursor;
  stderr?: StreamCursor;
  /** Unfinished line per stream, base64 (Docker splits lines over 16 KiB into partial messages). */
  partial?: { stdout?: string; stderr?: string };
}

/** Reads a saved cursor, including the single `{ ts, n }` cursor earlier agents saved. */
export function asDockerCursor(cursor: OutputCursor | null): DockerCursor | null {
  if (!cursor) return null;
  if (typeof cursor.ts === 'string' && typeof cursor.n === 'number') {
    const legacy = { ts: cursor.ts, n: cursor.n };
    return { stdout: legacy, stderr: { ...legacy }, ...(cursor.partial ? { partial: cursor.partial as DockerCursor['partial'] } : {}) };
  }
  return cursor as DockerCursor;
}

/** A cursor that starts both streams at `time` (used when the saved one was lost). */
export function cursorAt(time: string): DockerCursor {
  return { stdout: { ts: time, n: 0 }, stderr: { ts: time, n: 0 } };
}

/**
 * The `since` of a resumed read: the earliest point either stream can still have unread
 * messages. Each stream's own cursor bounds it, and so does the newest line read: anything not
 * read yet was written to the file after that line, so it was stamped at most the skew before
 * it. The second bound keeps a stream that wrote once, long ago (or never), from making every
 * resume read the whole log again.
 */
export function sinceParam(cursor: DockerCursor | null): string | undefined {
  if (!cursor) return undefined;
  const known = STREAMS.map((s) => (cursor[s] ? toNanos(cursor[s].ts) : null)).filter((ns): ns is bigint => ns !== null);
  if (known.length === 0) return undefined;
  const oldest = known.length < STREAMS.length ? null : known.reduce((a, b) => (b < a ? b : a));
  const newest = known.reduce((a, b) => (b > a ? b : a));
  const allowance = newest - STAMP_TO_WRITE_SKEW_NS;
  return toSinceParam(oldest !== null && oldest > allowance ? oldest : allowance);
}

/** Per stream: the position consumed, as exact nanoseconds plus the count at that timestamp. */
interface Position {
  ts: string;
  nanos: bigint;
  n: number;
  /** Messages at `nanos` to skip still, on a resumed read (`since` returns them again). */
  skip: number;
}

/**
 * Parses the multiplexed log stream (8-byte header per message: stream type, size) of a
 * container without a TTY, each message prefixed `TIMESTAMP `, into lines with cursors.
 */
export class DockerLogReader {
  private buffer: Buffer = Buffer.alloc(0);
  private readonly position: Partial<Record<Stream, Position>> = {};
  private readonly partial: Record<Stream, Buffer[]> = { stdout: [], stderr: [] };

  /** `shiftMs` moves line times from the engine's clock to the agent's; cursors keep the engine's. */
  constructor(from: DockerCursor | null, private readonly shiftMs = 0) {
    for (const s of STREAMS) {
      const at = from?.[s];
      const nanos = at ? toNanos(at.ts) : null;
      if (at && nanos !== null) this.position[s] = { ts: at.ts, nanos, n: at.n, skip: at.n };
      const saved = from?.partial?.[s];
      if (saved) this.partial[s].push(Buffer.from(saved, 'base64'));
    }
  }

  /** Feeds bytes; returns the completed lines and the cursor just after them. */
  push(chunk: Buffer): { lines: OutputLine[]; cursor: DockerCursor | null } {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    const lines: OutputLine[] = [];
    let offset = 0;
    while (this.buffer.length - offset >= 8) {
      const size = this.buffer.readUInt32BE(offset + 4);
      if (this.buffer.length - offset - 8 < size) break;
      const type = this.buffer[offset]!;
      const payload = this.buffer.subarray(offset + 8, offset + 8 + size);
      offset += 8 + size;
      if (type === 1 || type === 2) this.message(type === 1 ? 'stdout' : 'stderr', payload, lines);
    }
    this.buffer = this.buffer.subarray(offset);
    return { lines, cursor: this.cursor() };
  }

  cursor(): DockerCursor | null {
    const cursor: DockerCursor = {};
    const partial: DockerCursor['partial'] = {};
    for (const s of STREAMS) {
      const at = this.position[s];
      if (at) cursor[s] = { ts: at.ts, n: at.n };
      if (this.partial[s].length) partial[s] = Buffer.concat(this.partial[s]).toString('base64');
    }
    if (!cursor.stdout && !cursor.stderr) return null;
    return partial.stdout || partial.stderr ? { ...cursor, partial } : cursor;
  }

  private message(stream: Stream, payload: Buffer, out: OutputLine[]): void {
    const space = payload.indexOf(0x20);
    const ts = space > 0 ? payload.subarray(0, space).toString('latin1') : '';
    const nanos = toNanos(ts);
    if (nanos === null) return; // not a timestamped message; nothing sensible to resume from
    const at = this.position[stream];
    if (at) {
      // Within a stream timestamps never go back: anything before the cursor was consumed,
      // and `since` returns the messages at the cursor's timestamp again.
      if (nanos < at.nanos) return;
      if (nanos === at.nanos && at.skip > 0) {
        at.skip--;
        return;
      }
      at.skip = 0;
      if (nanos === at.nanos) at.n++;
      else Object.assign(at, { ts, nanos, n: 1 });
    } else {
      this.position[stream] = { ts, nanos, n: 1, skip: 0 };
    }
    let body = payload.subarray(space + 1);
    const complete = body.length > 0 && body[body.length - 1] === 0x0a;
    if (complete) body = body.subarray(0, body.length - 1);
    const pending = this.partial[stream];
    pending.push(body);
    const size = pending.reduce((sum, b) => sum + b.length, 0);
    if (complete || size >= MAX_LINE_BYTES) {
      const text = Buffer.concat(pending).toString('utf8').replace(/\r$/, '');
      this.partial[stream] = [];
      out.push({ stream, text, at: toIso(ts, this.shiftMs) });
    }
  }
}
