import { closeSync, existsSync, openSync, readSync, renameSync, rmSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { linesOfRun, MAX_CHUNK_RUNS, sliceRuns, toRuns, type LogEntry, type LogRun } from '@tapit/protocol';

/** Longest line sent as one entry; longer ones are split so no frame grows without bound. */
export const MAX_LINE_BYTES = 64 * 1024;
/**
 * A chunk is closed once its text reaches this many characters (it may end with one line of up
 * to 64 KiB more): the unit the spool writes, sends and the scheduler stores.
 */
export const CHUNK_CHARS = 256 * 1024;
/** Acked chunks, or characters of them, kept in the file before it is rewritten without them. */
const COMPACT_AFTER = 500;
const COMPACT_AFTER_CHARS = 8 * 1024 * 1024;

export interface SpooledLine extends LogEntry {
  seq: number;
}

/** Lines `seq` to `seq + lines - 1`, as runs (times on the agent's clock). */
export interface SpooledChunk {
  seq: number;
  lines: number;
  runs: LogRun[];
  /** From chunkAfter: it stopped at its size, not at the last line held. */
  full?: boolean;
}

/**
 * One record of the spool file (JSON lines). `cursor` is where the output source resumes.
 * Agents before chunks wrote a record per line (`stream`, `text`, `at`); they are still read.
 */
type ChunkRecord = { seq: number; runs: LogRun[]; cursor?: unknown; more?: 1 };
type LineRecord = { seq: number; stream: LogEntry['stream']; text: string; at: string; cursor?: unknown; more?: 1 };
type HeadRecord = { head: { seq: number; ack: number; cursor: unknown } };
type Record_ = ChunkRecord | LineRecord | HeadRecord;

/** Unacknowledged lines kept in memory; beyond this they stay on disk until acks make room. */
export const DEFAULT_MEMORY_BYTES = 32 * 1024 * 1024;

function costOf(chunk: SpooledChunk): number {
  let cost = 0;
  for (const run of chunk.runs) cost += run.text.length * 2 + 96;
  return cost;
}

function chunkOf(record: ChunkRecord | LineRecord): SpooledChunk {
  if ('runs' in record) return { seq: record.seq, lines: countRunLines(record.runs), runs: record.runs };
  return { seq: record.seq, lines: 1, runs: toRuns([{ stream: record.stream, text: record.text, at: record.at }]) };
}

function countRunLines(runs: readonly LogRun[]): number {
  let n = 0;
  for (const run of runs) n += run.lines;
  return n;
}

/**
 * A task's log on disk: lines numbered 1, 2, 3… are appended, in chunks, before they are sent,
 * and kept until `task.log.ack` covers them. The output cursor is stored in the same record as
 * the chunk it follows, so a crash can never keep a line without its cursor or the reverse (no
 * line lost or doubled after `kill -9`). Memory holds a window of the unacked chunks; a long
 * outage with a chatty task grows the file, not the agent (the window also bounds what is in
 * flight).
 */
export class LogSpool {
  private fd: number | null = null;
  private size = 0;
  /** Unacked chunks in memory, contiguous, the first holding ackedSeq + 1. */
  private chunks: SpooledChunk[] = [];
  /** Where each chunk of `chunks` starts in the file: the records from the first on are the unacked ones. */
  private offsets: number[] = [];
  private memBytes = 0;
  /** File offset of the first unacked chunk not in memory; null when memory holds them all. */
  private overflowAt: number | null = null;
  private ackedInFile = 0;
  private ackedCharsInFile = 0;
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

  /** The spool file's size. */
  get fileBytes(): number {
    return this.size;
  }

  static open(dir: string, taskId: string, memoryBytes = DEFAULT_MEMORY_BYTES): LogSpool {
    return new LogSpool(join(dir, `${taskId}.log.jsonl`), memoryBytes);
  }

  /** Appends lines (split at 64 KiB) and, with them, the cursor after them. */
  append(entries: LogEntry[], cursor?: unknown): void {
    const lines = entries.flatMap((entry) => splitLine(entry.text).map((text) => ({ stream: entry.stream, text, at: entry.at })));
    this.appendRuns(toRuns(lines), cursor);
  }

  /**
   * Appends runs (their lines at most 64 KiB each) in chunks of about CHUNK_CHARS and, with
   * them, the cursor after them: one write.
   */
  appendRuns(runs: readonly LogRun[], cursor?: unknown): void {
    const records: Record_[] = [];
    let current: LogRun[] = [];
    let chars = 0;
    const close = () => {
      if (current.length === 0) return;
      const lines = countRunLines(current);
      records.push({ seq: this.lastSeq + 1, runs: current });
      this.lastSeq += lines;
      current = [];
      chars = 0;
    };
    for (const run of runs) {
      // A run longer than what is left of the chunk is cut between its lines.
      let rest: LogRun | null = run;
      while (rest) {
        let piece: LogRun = rest;
        rest = null;
        let last = false;
        if (piece.lines > 1 && chars + piece.text.length > CHUNK_CHARS) {
          const fit = Math.max(linesWithin(piece.text, CHUNK_CHARS - chars), current.length === 0 ? 1 : 0);
          if (fit === 0) {
            close();
            rest = piece;
            continue;
          }
          if (fit < piece.lines) [piece, rest, last] = [sliceRuns([piece], 0, fit)[0]!, sliceRuns([piece], fit)[0]!, true];
        }
        current.push(piece);
        chars += piece.text.length;
        if (last || chars >= CHUNK_CHARS || current.length >= MAX_CHUNK_RUNS) close();
      }
    }
    close();
    if (cursor !== undefined) {
      this.cursor = cursor;
      // Chunks of one batch count only together with their cursor: all but the last say `more`.
      for (const r of records.slice(0, -1)) (r as ChunkRecord).more = 1;
      if (records.length > 0) (records[records.length - 1] as ChunkRecord).cursor = cursor;
      else records.push({ head: { seq: this.lastSeq, ack: this.ackedSeq, cursor } });
    }
    if (records.length === 0) return;
    let offset = this.size;
    const texts = records.map((r) => JSON.stringify(r) + '\n');
    records.forEach((r, i) => {
      if (!('head' in r)) this.keep(chunkOf(r), offset);
      offset += Buffer.byteLength(texts[i]!);
    });
    // One write per batch: a torn write leaves at most a partial batch, dropped on load.
    this.size += writeSync(this.fd!, texts.join(''));
  }

  /** Lines after `seq` held in memory, at most `max` lines or about `maxBytes`. */
  after(seq: number, max = 1000, maxBytes = 512 * 1024): SpooledLine[] {
    const out: SpooledLine[] = [];
    const from = Math.max(seq, this.ackedSeq);
    let bytes = 0;
    for (const chunk of this.chunks) {
      // Chunks wholly before `from` are not split into lines: a lagging scheduler asks again and again.
      if (chunk.seq + chunk.lines - 1 <= from) continue;
      let n = chunk.seq;
      for (const run of chunk.runs) {
        for (const text of linesOfRun(run)) {
          if (n > from) {
            if (out.length >= max || (out.length > 0 && bytes >= maxBytes)) return out;
            out.push({ seq: n, stream: run.stream, text, at: run.at });
            bytes += text.length + 64;
          }
          n++;
        }
      }
    }
    return out;
  }

  /**
   * The lines after `seq` held in memory as one chunk: whole chunks joined up to about
   * `maxChars` of text (at least one), the first cut to start at `seq + 1`. Null if none.
   */
  chunkAfter(seq: number, maxChars = CHUNK_CHARS): SpooledChunk | null {
    let out: SpooledChunk | null = null;
    const from = Math.max(seq, this.ackedSeq);
    let chars = 0;
    for (const chunk of this.chunks) {
      const end = chunk.seq + chunk.lines - 1;
      if (end <= from) continue;
      const skip = Math.max(0, from + 1 - chunk.seq);
      const runs = skip > 0 ? sliceRuns(chunk.runs, skip) : chunk.runs;
      const size = runs.reduce((sum, run) => sum + run.text.length, 0);
      if (out && (chars + size > maxChars || out.runs.length + runs.length > MAX_CHUNK_RUNS)) {
        out.full = true;
        break;
      }
      if (!out) out = { seq: chunk.seq + skip, lines: chunk.lines - skip, runs: [...runs] };
      else {
        out.lines += chunk.lines;
        out.runs.push(...runs);
      }
      chars += size;
      if (chars >= maxChars) {
        out.full = true;
        break;
      }
    }
    return out;
  }

  /** The scheduler stored everything up to `seq`. */
  ack(seq: number): void {
    this.ackedSeq = Math.max(this.ackedSeq, Math.min(seq, this.lastSeq));
    let drop = 0;
    while (drop < this.chunks.length && this.chunks[drop]!.seq + this.chunks[drop]!.lines - 1 <= this.ackedSeq) {
      const cost = costOf(this.chunks[drop++]!);
      this.memBytes -= cost;
      this.ackedCharsInFile += cost / 2;
    }
    this.chunks.splice(0, drop);
    this.offsets.splice(0, drop);
    this.ackedInFile += drop;
    if (this.overflowAt !== null && this.memBytes < this.memoryBytes / 2) this.refill();
    // Rewriting is only possible while memory holds every unacked chunk, and worth it once the
    // file holds more acked than unacked (each rewrite copies what is left).
    const unacked = this.memBytes / 2;
    const worth =
      (this.chunks.length === 0 && this.ackedInFile > 0) ||
      ((this.ackedInFile >= COMPACT_AFTER || this.ackedCharsInFile >= COMPACT_AFTER_CHARS) && this.ackedCharsInFile >= unacked);
    if (this.overflowAt === null && worth) this.compact();
  }

  /** Adopted without a spool: the scheduler already stored lines up to `seq`; go on from there. */
  skipTo(seq: number): void {
    this.lastSeq = Math.max(this.lastSeq, seq);
    this.ackedSeq = this.lastSeq;
    this.chunks = [];
    this.offsets = [];
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

  private keep(chunk: SpooledChunk, offset: number): void {
    if (chunk.seq + chunk.lines - 1 <= this.ackedSeq) return;
    if (this.overflowAt === null && this.memBytes < this.memoryBytes) {
      this.chunks.push(chunk);
      this.offsets.push(offset);
      this.memBytes += costOf(chunk);
    } else {
      this.overflowAt ??= offset;
    }
  }

  /**
   * Reads the next unacked chunks from the file into memory, up to the window and an eighth of it
   * per call: filling half the window at once held the agent's event loop for a fifth of a second
   * in a flood; acks come a frame at a time, so memory still fills faster than they empty it.
   */
  private refill(): void {
    const from = this.overflowAt!;
    const last = this.chunks.length > 0 ? this.chunks.at(-1)!.seq + this.chunks.at(-1)!.lines - 1 : this.ackedSeq;
    this.overflowAt = null;
    let added = 0;
    for (const { text, start, end, partial } of this.scan(from)) {
      if (partial) break;
      const record = JSON.parse(text) as Record_;
      if ('head' in record || record.seq <= last) continue;
      const chunk = chunkOf(record);
      this.keep(chunk, start);
      if (this.overflowAt !== null) return;
      added += costOf(chunk);
      if (added >= this.memoryBytes / 8) {
        this.overflowAt = end;
        return;
      }
    }
  }

  /**
   * Rewrites the file as a head record and the unacked chunks (temp file + rename), only when
   * memory holds them all: they are the file's records from the first one's on, up to `end`
   * (what was written whole), and are copied as bytes. Writing them again from memory made a
   * JSON text of the whole window: 0.46 s of a 1.1 s stall of the agent in bench/flood.
   */
  private compact(end = this.size): void {
    // The head's seq is the one before the chunks that follow it.
    const head = { seq: this.chunks[0] ? this.chunks[0].seq - 1 : this.lastSeq, ack: this.ackedSeq, cursor: this.cursor };
    const headText = JSON.stringify({ head }) + '\n';
    const from = this.offsets[0] ?? end;
    const tmp = `${this.path}.tmp`;
    const out = openSync(tmp, 'w', 0o600);
    try {
      writeSync(out, headText);
      copyRange(this.path, from, end, out);
    } finally {
      closeSync(out);
    }
    this.close();
    renameSync(tmp, this.path);
    this.fd = openSync(this.path, 'a', 0o600);
    const shift = Buffer.byteLength(headText) - from;
    this.offsets = this.offsets.map((offset) => offset + shift);
    this.size = end + shift;
    this.ackedInFile = 0;
    this.ackedCharsInFile = 0;
  }

  private load(): void {
    if (!existsSync(this.path)) return;
    let batch: { chunk: SpooledChunk; start: number }[] = [];
    let batchEnd = 0;
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
      const chunk = chunkOf(record);
      if (chunk.seq !== this.lastSeq + batchEnd + 1) continue;
      batch.push({ chunk, start });
      batchEnd += chunk.lines;
      if (record.more) continue;
      this.lastSeq += batchEnd;
      batchEnd = 0;
      if (record.cursor !== undefined) this.cursor = record.cursor;
      for (const { chunk: kept, start: at } of batch) this.keep(kept, at);
      batch = [];
      goodEnd = end;
    }
    // A batch cut short by a crash is dropped: its lines are read again from the older cursor.
    while (this.chunks.length > 0 && this.chunks[0]!.seq + this.chunks[0]!.lines - 1 <= this.ackedSeq) {
      this.memBytes -= costOf(this.chunks.shift()!);
      this.offsets.shift();
    }
    if (this.overflowAt === null) return this.compact(goodEnd);
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

/** Copies bytes `from` to `end` of the file at `path` to the end of `out`, a mebibyte at a time. */
function copyRange(path: string, from: number, end: number, out: number): void {
  if (end <= from) return;
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(Math.min(1024 * 1024, end - from));
    for (let at = from; at < end; ) {
      const n = readSync(fd, buffer, 0, Math.min(buffer.length, end - at), at);
      if (n === 0) throw new Error(`log spool ${path} ended at ${at}, before ${end}`);
      writeSync(out, buffer, 0, n);
      at += n;
    }
  } finally {
    closeSync(fd);
  }
}

/** How many of the lines of a run's `text` fit in `chars` characters (its `\n`s included). */
function linesWithin(text: string, chars: number): number {
  let n = 0;
  for (let at = text.indexOf('\n'); at !== -1 && at < chars; at = text.indexOf('\n', at + 1)) n++;
  return n;
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
