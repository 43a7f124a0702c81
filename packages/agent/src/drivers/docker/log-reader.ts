import { linesOfRun } from '@tapit/protocol';
import type { OutputCursor, OutputLine, OutputRun } from '../driver.js';
import { toNanos, toSinceParam } from './timestamps.js';

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

/** Per stream: the position consumed, as a sortable time key plus the count at that timestamp. */
interface Position {
  ts: string;
  key: string;
  n: number;
  /** Messages at `key` to skip still, on a resumed read (`since` returns them again). */
  skip: number;
}

/**
 * A timestamp as a string that sorts as the time does: `YYYY-MM-DDTHH:MM:SS.nnnnnnnnn` in UTC
 * (null if it is not one). Docker writes UTC with the fraction's trailing zeros cut, read here
 * without BigInt or a regular expression: this runs once per line of output.
 */
export function timeKey(ts: string): string | null {
  const length = ts.length;
  if (length >= 20 && length <= 30 && ts.charCodeAt(length - 1) === 0x5a && ts.charCodeAt(10) === 0x54) {
    if (length === 20) return `${ts.slice(0, 19)}.000000000`;
    if (length > 21 && ts.charCodeAt(19) === 0x2e) return ts.slice(0, length - 1).padEnd(29, '0');
  }
  const nanos = toNanos(ts);
  if (nanos === null) return null;
  const seconds = new Date(Number(nanos / 1_000_000_000n) * 1000).toISOString().slice(0, 19);
  return `${seconds}.${String(nanos % 1_000_000_000n).padStart(9, '0')}`;
}

/** Length of the longest start of `bytes` that ends with a whole UTF-8 character. */
function wholeCharacters(bytes: Buffer): number {
  let start = bytes.length - 1;
  // Back over at most three continuation bytes to where the last character starts.
  while (start > 0 && bytes.length - start < 4 && (bytes[start]! & 0xc0) === 0x80) start--;
  const lead = bytes[start]!;
  const size = lead < 0x80 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return start + size <= bytes.length ? bytes.length : start;
}

/** What one push read: runs of output, and the cursor just after them. */
export interface ReaderOutput {
  runs: OutputRun[];
  cursor: DockerCursor | null;
  /** The runs a line at a time (for tests and logs; the runner takes runs). */
  readonly lines: OutputLine[];
}

const NEWLINE = Buffer.from('\n');

/** A run being read: one stream, one millisecond, its lines' bytes each followed by `\n`. */
interface OpenRun {
  stream: Stream;
  ms: number;
  parts: Buffer[];
  lines: number;
}

/**
 * Parses the multiplexed log stream (8-byte header per message: stream type, size) of a
 * container without a TTY, each message prefixed `TIMESTAMP `, into runs of lines with cursors.
 * No object is made per line: a line's bytes join its run's, decoded once per run.
 */
export class DockerLogReader {
  private buffer: Buffer = Buffer.alloc(0);
  private readonly position: Partial<Record<Stream, Position>> = {};
  private readonly partial: Record<Stream, Buffer[]> = { stdout: [], stderr: [] };
  /** Pieces of the stream's current line went out already (its end may bring nothing more). */
  private readonly continued: Record<Stream, boolean> = { stdout: false, stderr: false };
  /** When the last piece of each stream's unfinished line came (engine milliseconds). */
  private readonly partialMs: Partial<Record<Stream, number>> = {};
  private open: OpenRun | null = null;
  private runs: OutputRun[] = [];
  /** The last second read (`YYYY-MM-DDTHH:MM:SS`) and its epoch milliseconds. */
  private second = '';
  private secondMs = 0;
  private lastIsoMs = NaN;
  private lastIso = '';

  /** `shiftMs` moves line times from the engine's clock to the agent's; cursors keep the engine's. */
  constructor(from: DockerCursor | null, private readonly shiftMs = 0) {
    for (const s of STREAMS) {
      const at = from?.[s];
      const key = at ? timeKey(at.ts) : null;
      if (at && key !== null) this.position[s] = { ts: at.ts, key, n: at.n, skip: at.n };
      const saved = from?.partial?.[s];
      if (saved) this.partial[s].push(Buffer.from(saved, 'base64'));
    }
  }

  /** Feeds bytes; returns the completed lines, as runs, and the cursor just after them. */
  push(chunk: Buffer): ReaderOutput {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    let offset = 0;
    while (this.buffer.length - offset >= 8) {
      const size = this.buffer.readUInt32BE(offset + 4);
      if (this.buffer.length - offset - 8 < size) break;
      const type = this.buffer[offset]!;
      const payload = this.buffer.subarray(offset + 8, offset + 8 + size);
      offset += 8 + size;
      if (type === 1 || type === 2) this.message(type === 1 ? 'stdout' : 'stderr', payload);
    }
    this.buffer = this.buffer.subarray(offset);
    return this.take();
  }

  /**
   * The container's output is complete: what is left of a line without a line break (a program
   * that ended, or was killed, mid-line) is a line of its own, as Docker keeps it. Returns those
   * lines, and the cursor after them.
   */
  finish(): ReaderOutput {
    const ends = STREAMS.filter((s) => this.partial[s].length > 0)
      .map((s) => ({ s, ms: this.partialMs[s] ?? (this.position[s] ? this.millisOf(this.position[s].key) : NaN) }))
      .sort((a, b) => a.ms - b.ms);
    for (const { s, ms } of ends) {
      const rest = Buffer.concat(this.partial[s]);
      this.partial[s] = [];
      this.continued[s] = false;
      if (rest.length > 0 && !Number.isNaN(ms)) this.line(s, ms, rest);
    }
    return this.take();
  }

  /** The runs read since the last call, and the cursor after them. */
  private take(): ReaderOutput {
    this.closeRun();
    const runs = this.runs;
    this.runs = [];
    return {
      runs,
      cursor: this.cursor(),
      get lines() {
        return runs.flatMap((run) => linesOfRun(run).map((text) => ({ stream: run.stream, text, at: run.at })));
      },
    };
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

  private message(stream: Stream, payload: Buffer): void {
    const space = payload.indexOf(0x20);
    const ts = space > 0 ? payload.toString('latin1', 0, space) : '';
    const key = timeKey(ts);
    if (key === null) return; // not a timestamped message; nothing sensible to resume from
    const at = this.position[stream];
    if (at) {
      // Within a stream timestamps never go back: anything before the cursor was consumed,
      // and `since` returns the messages at the cursor's timestamp again.
      if (key < at.key) return;
      if (key === at.key && at.skip > 0) {
        at.skip--;
        return;
      }
      at.skip = 0;
      if (key === at.key) at.n++;
      else Object.assign(at, { ts, key, n: 1 });
    } else {
      this.position[stream] = { ts, key, n: 1, skip: 0 };
    }
    const ms = this.millisOf(key);
    if (Number.isNaN(ms)) return;
    let body = payload.subarray(space + 1);
    const complete = body.length > 0 && body[body.length - 1] === 0x0a;
    if (complete) body = body.subarray(0, body.length - 1);
    const pending = this.partial[stream];
    if (complete && pending.length === 0) {
      // The end of a line whose pieces went already adds no line of its own when nothing is left.
      if (this.continued[stream] && body.length === 0) return void (this.continued[stream] = false);
      this.continued[stream] = false;
      return this.line(stream, ms, body);
    }
    pending.push(body);
    this.partialMs[stream] = ms;
    let size = 0;
    for (const piece of pending) size += piece.length;
    if (complete) {
      this.partial[stream] = [];
      this.continued[stream] = false;
      this.line(stream, ms, Buffer.concat(pending, size));
    } else if (size >= MAX_LINE_BYTES) {
      // Long enough for a piece of 64 KiB to go before the line's end, cut before a character
      // (Docker cuts a long line every 16 KiB, inside a character or not); the rest waits.
      const joined = Buffer.concat(pending, size);
      let cut = Math.min(wholeCharacters(joined), MAX_LINE_BYTES);
      while (cut > 0 && cut < joined.length && (joined[cut]! & 0xc0) === 0x80) cut--;
      this.partial[stream] = cut < joined.length ? [joined.subarray(cut)] : [];
      this.continued[stream] = true;
      this.add(stream, ms, joined.subarray(0, cut));
    }
  }

  /** One line's bytes (without its `\n`), cut into pieces of at most 64 KiB, never inside a character. */
  private line(stream: Stream, ms: number, bytes: Buffer): void {
    if (bytes.length > 0 && bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, bytes.length - 1);
    let start = 0;
    while (bytes.length - start > MAX_LINE_BYTES) {
      let end = start + MAX_LINE_BYTES;
      while (end > start && (bytes[end]! & 0xc0) === 0x80) end--;
      this.add(stream, ms, bytes.subarray(start, end));
      start = end;
    }
    this.add(stream, ms, start === 0 ? bytes : bytes.subarray(start));
  }

  private add(stream: Stream, ms: number, bytes: Buffer): void {
    // A line holding a line break (no engine writes one; a run of several lines must not hold
    // one) goes in a run of its own.
    const alone = bytes.indexOf(0x0a) !== -1;
    const open = this.open;
    if (open && !alone && open.stream === stream && open.ms === ms) {
      open.parts.push(bytes, NEWLINE);
      open.lines++;
      return;
    }
    this.closeRun();
    this.open = { stream, ms, parts: [bytes, NEWLINE], lines: 1 };
    if (alone) this.closeRun();
  }

  private closeRun(): void {
    const open = this.open;
    if (!open) return;
    this.open = null;
    if (open.ms !== this.lastIsoMs) {
      this.lastIsoMs = open.ms;
      this.lastIso = new Date(open.ms + this.shiftMs).toISOString();
    }
    this.runs.push({ stream: open.stream, at: this.lastIso, lines: open.lines, text: Buffer.concat(open.parts).toString('utf8') });
  }

  /** Epoch milliseconds of a time key (the engine's clock). */
  private millisOf(key: string): number {
    const second = key.slice(0, 19);
    if (second !== this.second) {
      this.second = second;
      this.secondMs = Date.parse(`${second}Z`);
    }
    const c = (i: number) => key.charCodeAt(i) - 48;
    return this.secondMs + c(20) * 100 + c(21) * 10 + c(22);
  }
}
