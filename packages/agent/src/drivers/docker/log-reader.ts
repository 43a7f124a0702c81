import type { OutputCursor, OutputLine } from '../driver.js';
import { toIso, toNanos } from './timestamps.js';

/** Longest piece of one line kept in memory; longer lines are cut (the spool cuts at 64 KiB too). */
export const MAX_LINE_BYTES = 64 * 1024;

/**
 * Where a read of `docker logs --timestamps` stopped: the timestamp of the last message consumed
 * and how many messages carrying exactly that timestamp were consumed (several lines can share
 * one), plus any unfinished line, so a resumed read neither repeats nor loses a line.
 */
export interface DockerCursor {
  ts: string;
  n: number;
  /** Unfinished line per stream, base64 (Docker splits lines over 16 KiB into partial messages). */
  partial?: { stdout?: string; stderr?: string };
}

export function asDockerCursor(cursor: OutputCursor | null): DockerCursor | null {
  if (!cursor || typeof cursor.ts !== 'string' || typeof cursor.n !== 'number') return null;
  return cursor as unknown as DockerCursor;
}

type Stream = 'stdout' | 'stderr';

/**
 * Parses the multiplexed log stream (8-byte header per message: stream type, size) of a
 * container without a TTY, each message prefixed `TIMESTAMP `, into lines with cursors.
 */
export class DockerLogReader {
  private buffer: Buffer = Buffer.alloc(0);
  private ts: string | null;
  private n: number;
  private tsNanos: bigint | null;
  private skip: number;
  private readonly partial: Record<Stream, Buffer[]> = { stdout: [], stderr: [] };

  constructor(from: DockerCursor | null) {
    this.ts = from?.ts ?? null;
    this.n = from?.n ?? 0;
    this.tsNanos = from ? toNanos(from.ts) : null;
    this.skip = from?.n ?? 0;
    for (const s of ['stdout', 'stderr'] as const) {
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
    if (this.ts === null) return null;
    const partial: DockerCursor['partial'] = {};
    for (const s of ['stdout', 'stderr'] as const) {
      if (this.partial[s].length) partial[s] = Buffer.concat(this.partial[s]).toString('base64');
    }
    return { ts: this.ts, n: this.n, ...(partial.stdout || partial.stderr ? { partial } : {}) };
  }

  private message(stream: Stream, payload: Buffer, out: OutputLine[]): void {
    const space = payload.indexOf(0x20);
    const ts = space > 0 ? payload.subarray(0, space).toString('latin1') : '';
    const nanos = toNanos(ts);
    if (nanos === null) return; // not a timestamped message; nothing sensible to resume from
    if (this.tsNanos !== null) {
      // Resuming: `since` includes messages at the cursor's timestamp; skip the ones consumed.
      if (nanos < this.tsNanos) return;
      if (nanos === this.tsNanos && this.skip > 0) {
        this.skip--;
        return;
      }
    }
    this.skip = 0;
    if (this.tsNanos !== null && nanos === this.tsNanos) this.n++;
    else {
      this.ts = ts;
      this.tsNanos = nanos;
      this.n = 1;
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
      out.push({ stream, text, at: toIso(ts) });
    }
  }
}
