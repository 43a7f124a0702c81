import { closeSync, existsSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
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

/**
 * A task's log on disk: lines numbered 1, 2, 3… are appended before they are sent and kept
 * until `task.log.ack` covers them. The output cursor is stored in the same record as the line it
 * follows, so a crash can never keep a line without its cursor or the reverse (no line lost
 * or doubled after `kill -9`).
 */
export class LogSpool {
  private fd: number | null = null;
  private lines: SpooledLine[] = [];
  private ackedInFile = 0;
  lastSeq = 0;
  ackedSeq = 0;
  cursor: unknown = null;

  private constructor(private readonly path: string) {
    this.load();
    this.fd ??= openSync(path, 'a');
  }

  static open(dir: string, taskId: string): LogSpool {
    return new LogSpool(join(dir, `${taskId}.log.jsonl`));
  }

  /** Appends lines (split at 64 KiB) and, with them, the cursor after them. */
  append(entries: LogEntry[], cursor?: unknown): void {
    const records: Record_[] = [];
    for (const entry of entries) {
      for (const text of splitLine(entry.text)) {
        const line = { seq: ++this.lastSeq, stream: entry.stream, text, at: entry.at };
        this.lines.push(line);
        records.push({ ...line });
      }
    }
    if (cursor !== undefined) {
      this.cursor = cursor;
      // Lines of one batch count only together with their cursor: all but the last say `more`.
      for (const r of records.slice(0, -1)) (r as { more?: 1 }).more = 1;
      if (records.length > 0) (records[records.length - 1] as { cursor?: unknown }).cursor = cursor;
      else records.push({ head: { seq: this.lastSeq, ack: this.ackedSeq, cursor } });
    }
    if (records.length === 0) return;
    // One write per batch: a torn write leaves at most a partial last line, dropped on load.
    writeSync(this.fd!, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  }

  /** Lines after `seq`, at most `max` lines or about `maxBytes`. */
  after(seq: number, max = 1000, maxBytes = 512 * 1024): SpooledLine[] {
    const start = this.lines.findIndex((l) => l.seq > seq);
    if (start < 0) return [];
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
    if (seq <= this.ackedSeq) return;
    this.ackedSeq = Math.min(seq, this.lastSeq);
    let drop = 0;
    while (drop < this.lines.length && this.lines[drop]!.seq <= this.ackedSeq) drop++;
    this.lines.splice(0, drop);
    this.ackedInFile += drop;
    if (this.ackedInFile >= COMPACT_AFTER || (this.lines.length === 0 && this.ackedInFile > 0)) this.compact();
  }

  /** Adopted without a spool: the scheduler already stored lines up to `seq`; go on from there. */
  skipTo(seq: number): void {
    this.lastSeq = Math.max(this.lastSeq, seq);
    this.ackedSeq = this.lastSeq;
    this.lines = [];
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

  /** Rewrites the file with a head record and the unacked lines (temp file + rename). */
  private compact(): void {
    // The head's seq is the one before the lines that follow it.
    const head = { seq: this.lastSeq - this.lines.length, ack: this.ackedSeq, cursor: this.cursor };
    const records: Record_[] = [{ head }, ...this.lines];
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    this.close();
    renameSync(tmp, this.path);
    this.fd = openSync(this.path, 'a');
    this.ackedInFile = 0;
  }

  private load(): void {
    if (!existsSync(this.path)) return;
    const raw = readFileSync(this.path, 'utf8').split('\n');
    let batch: SpooledLine[] = [];
    for (const text of raw) {
      if (!text) continue;
      let record: Record_;
      try {
        record = JSON.parse(text) as Record_;
      } catch {
        break; // a torn last write: everything after it never happened
      }
      if ('head' in record) {
        this.lastSeq = Math.max(this.lastSeq, record.head.seq);
        batch = [];
        this.ackedSeq = Math.max(this.ackedSeq, record.head.ack);
        this.cursor = record.head.cursor;
        continue;
      }
      if (record.seq !== this.lastSeq + batch.length + 1) continue;
      batch.push({ seq: record.seq, stream: record.stream, text: record.text, at: record.at });
      if (record.more) continue;
      this.lastSeq = record.seq;
      if (record.cursor !== undefined) this.cursor = record.cursor;
      this.lines.push(...batch.filter((l) => l.seq > this.ackedSeq));
      batch = [];
    }
    // A batch cut short by a crash is dropped: its lines are read again from the older cursor.
    // Rewrite at once: drops a torn tail so new appends start on a clean line.
    this.compact();
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
