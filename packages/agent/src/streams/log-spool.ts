import { closeSync, existsSync, openSync, readSync, renameSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { LogEntry } from '@tapit/protocol';

/** Longest line sent as one entry; longer ones are split so no frame grows without bound. */
export const MAX_LINE_BYTES = 64 * 1024;
/** Acked lines kept in the file before it is rewritten without them. */
const COMPACT_AFTER = 5000;

export interface SpooledLine extends LogEntry {
  seq: number;
}

/** One record of the spool file (JSON lines). `cursor` is where the output source resumes. */
type Record_ = { seq: number; stream: LogEntry['stream']; text: string; at: string; cursor?: unknown; more?: 1 } | { head: { seq: number; ack: number; cursor: unknown } };

/** Unacknowledged lines kept in memory; beyond this they stay on disk until acks make room. */
export const DEFAULT_MEMORY_BYTES = 32 * 1024 * 1024;

const costOf = (line: SpooledLine) => line.text.length * 2 + 96;

/**
 * A task's log on disk: lines numbered 1, 2, 3… are appended before they are sent and kept
 * until `task.log.ack` covers them. The output cursor is stored in the same record as the line it
 * follows, so a crash can never keep a line without its cursor or the reverse (no line lost
 * or doubled after `kill -9`). Memory holds a window of the unacked lines; a long outage with
 * a chatty task grows the file, not the agent (the window also bounds what is in flight).
 */
export class LogSpool {
  private fd: number | null = null;
  private size = 0;
  /** Unacked lines in memory, contiguous from ackedSeq + 1. */
  private lines: SpooledLine[] = [];
  private memBytes = 0;
  /** File offset of the first unacked line not in memory; null when memory holds them all. */
  private overflowAt: number | null = null;
  private ackedInFile = 0;
  lastSeq = 0;
  ackedSeq = 0;
  cursor: unknown = null;

  private constructor(
    private readonly path: string,
    private readonly memoryBytes: number,
  ) {
    this.load();
    this.fd ??= openSync(path, 'a', 0o600);
  }

  static open(dir: string, taskId: string, memoryBytes = DEFAULT_MEMORY_BYTES): LogSpool {
    return new LogSpool(join(dir, `${taskId}.log.jsonl`), memoryBytes);
  }

  /** Appends lines (split at 64 KiB) and, with them, the cursor after them. */
  append(entries: LogEntry[], cursor?: unknown): void {
    const records: Record_[] = [];
    for (const entry of entries) {
      for (const text of splitLine(entry.text)) records.push({ seq: ++this.lastSeq, stream: entry.stream, text, at: entry.at });
    }
    if (cursor !== undefined) {
      this.cursor = cursor;
      // Lines of one batch count only together with their cursor: all but the last say `more`.
      for (const r of records.slice(0, -1)) (r as { more?: 1 }).more = 1;
      if (records.length > 0) (records[records.length - 1] as { cursor?: unknown }).cursor = cursor;
      else records.push({ head: { seq: this.lastSeq, ack: this.ackedSeq, cursor } });
    }
    if (records.length === 0) return;
    let offset = this.size;
    const texts = records.map((r) => JSON.stringify(r) + '\n');
    records.forEach((r, i) => {
      if (!('head' in r)) this.keep({ seq: r.seq, stream: r.stream, text: r.text, at: r.at }, offset);
      offset += Buffer.byteLength(texts[i]!);
    });
    // One write per batch: a torn write leaves at most a partial batch, dropped on load.
    this.size += writeSync(this.fd!, texts.join(''));
  }

  /** Lines after `seq` held in memory, at most `max` lines or about `maxBytes`. */
  after(seq: number, max = 1000, maxBytes = 512 * 1024): SpooledLine[] {
    const first = this.lines[0]?.seq ?? Infinity;
    const start = Math.max(0, seq + 1 - first);
    const out: SpooledLine[] = [];
    let bytes = 0;
    for (let i = start; i < this.lines.length && out.length < max && (out.length === 0 || bytes < maxBytes); i++) {
      out.push(this.lines[i]!);
      bytes += this.lines[i]!.text.length + 64;
    }
    return out;
  }

  /** The scheduler stored everything up to `seq`. */
  ack(seq: number): void {
    this.ackedSeq = Math.max(this.ackedSeq, Math.min(seq, this.lastSeq));
    let drop = 0;
    while (drop < this.lines.length && this.lines[drop]!.seq <= this.ackedSeq) this.memBytes -= costOf(this.lines[drop++]!);
    this.lines.splice(0, drop);
    this.ackedInFile += drop;
    if (this.overflowAt !== null && this.memBytes < this.memoryBytes / 2) this.refill();
    // Rewriting is only possible while memory holds every unacked line.
    if (this.overflowAt === null && (this.ackedInFile >= COMPACT_AFTER || (this.lines.length === 0 && this.ackedInFile > 0))) this.compact();
  }

  /** Adopted without a spool: the scheduler already stored lines up to `seq`; go on from there. */
  skipTo(seq: number): void {
    this.lastSeq = Math.max(this.lastSeq, seq);
    this.ackedSeq = this.lastSeq;
    this.lines = [];
    this.memBytes = 0;
    this.overflowAt = null;
    this.compact();
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  /** Deletes the file: the task is reported and forgotten. */
  remove(): void {
    this.close();
    rmSync(this.path, { force: true });
  }

  private keep(line: SpooledLine, offset: number): void {
    if (line.seq <= this.ackedSeq) return;
    if (this.overflowAt === null && this.memBytes < this.memoryBytes) {
      this.lines.push(line);
      this.memBytes += costOf(line);
    } else {
      this.overflowAt ??= offset;
    }
  }

  /** Reads the next unacked lines from the file into memory, up to the window. */
  private refill(): void {
    const from = this.overflowAt!;
    const last = this.lines.at(-1)?.seq ?? this.ackedSeq;
    this.overflowAt = null;
    for (const { text, start, partial } of this.scan(from)) {
      if (partial) break;
      const record = JSON.parse(text) as Record_;
      if ('head' in record || record.seq <= last) continue;
      this.keep({ seq: record.seq, stream: record.stream, text: record.text, at: record.at }, start);
      if (this.overflowAt !== null) return;
    }
  }

  /** Rewrites the file with a head record and the unacked lines (temp file + rename). */
  private compact(): void {
    // The head's seq is the one before the lines that follow it.
    const head = { seq: this.lastSeq - this.lines.length, ack: this.ackedSeq, cursor: this.cursor };
    const text = [{ head }, ...this.lines].map((r) => JSON.stringify(r) + '\n').join('');
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, text, { mode: 0o600 });
    this.close();
    renameSync(tmp, this.path);
    this.fd = openSync(this.path, 'a', 0o600);
    this.size = Buffer.byteLength(text);
    this.ackedInFile = 0;
  }

  private load(): void {
    if (!existsSync(this.path)) return;
    let batch: { line: SpooledLine; start: number }[] = [];
    let goodEnd = 0;
    for (const { text, start, end, partial } of this.scan(0)) {
      let record: Record_;
      try {
        if (partial) break;
        record = JSON.parse(text) as Record_;
      } catch {
        break; // a torn last write: everything after it never happened
      }
      if ('head' in record) {
        this.lastSeq = Math.max(this.lastSeq, record.head.seq);
        this.ackedSeq = Math.max(this.ackedSeq, record.head.ack);
        this.cursor = record.head.cursor;
        batch = [];
        goodEnd = end;
        continue;
      }
      if (record.seq !== this.lastSeq + batch.length + 1) continue;
      batch.push({ line: { seq: record.seq, stream: record.stream, text: record.text, at: record.at }, start });
      if (record.more) continue;
      this.lastSeq = record.seq;
      if (record.cursor !== undefined) this.cursor = record.cursor;
      for (const { line, start: at } of batch) this.keep(line, at);
      batch = [];
      goodEnd = end;
    }
    // A batch cut short by a crash is dropped: its lines are read again from the older cursor.
    while (this.lines.length > 0 && this.lines[0]!.seq <= this.ackedSeq) this.memBytes -= costOf(this.lines.shift()!);
    if (this.overflowAt === null) return this.compact();
    truncateSync(this.path, goodEnd);
    this.size = goodEnd;
    if (this.memBytes < this.memoryBytes / 2) this.refill();
  }

  /** The file's lines from byte `from`, with their offsets; a last line without newline is partial. */
  private *scan(from: number): Generator<{ text: string; start: number; end: number; partial?: true }> {
    const fd = openSync(this.path, 'r');
    try {
      const chunk = Buffer.alloc(1024 * 1024);
      let carry = Buffer.alloc(0);
      let carryAt = from;
      let pos = from;
      for (;;) {
        const n = readSync(fd, chunk, 0, chunk.length, pos);
        if (n === 0) break;
        pos += n;
        const data = Buffer.concat([carry, chunk.subarray(0, n)]);
        let start = 0;
        for (let nl = data.indexOf(0x0a); nl >= 0; nl = data.indexOf(0x0a, start)) {
          if (nl > start) yield { text: data.toString('utf8', start, nl), start: carryAt + start, end: carryAt + nl + 1 };
          start = nl + 1;
        }
        carry = data.subarray(start);
        carryAt += start;
      }
      if (carry.length > 0) yield { text: carry.toString('utf8'), start: carryAt, end: carryAt + carry.length, partial: true };
    } finally {
      closeSync(fd);
    }
  }
}

/** Cuts a line into pieces of at most 64 KiB of UTF-8, never inside a character. */
export function splitLine(text: string): string[] {
  if (text.length * 3 <= MAX_LINE_BYTES || Buffer.byteLength(text) <= MAX_LINE_BYTES) return [text];
  const bytes = Buffer.from(text, 'utf8');
  const pieces: string[] = [];
  let start = 0;
  while (start < bytes.length) {
    let end = Math.min(start + MAX_LINE_BYTES, bytes.length);
    while (end < bytes.length && (bytes[end]! & 0xc0) === 0x80) end--;
    pieces.push(bytes.subarray(start, end).toString('utf8'));
    start = end;
  }
  return pieces;
}
