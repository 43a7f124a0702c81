import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { coerceError, isUniqueViolation } from '../db/errors.js';
import { retryWhileUnavailable } from '../db/retry.js';
import { formatBytes } from '../format-bytes.js';

/**
 * How long an event may wait before it is written: what a scheduler killed mid-session loses
 * at most (plus the one write in flight). Small, yet a fast-printing program still fills a
 * chunk per write rather than a row per event.
 */
export const RECORDING_FLUSH_MS = 100;
const FLUSH_BYTES = 64 * 1024;
/** Held while the database is away; past this, the oldest waiting events give way to a marker. */
const MAX_UNSTORED_BYTES = 8 * 1024 * 1024;
/** TAPIT_CONSOLE_RECORDING_MAX_BYTES' default: a recording holds at most this many bytes of events. */
export const DEFAULT_RECORDING_MAX_BYTES = 64 * 1024 * 1024;

interface Chunk {
  seq: number;
  events: string;
}

/**
 * Records a console session as asciicast v2 events (`[seconds, "o" | "i" | "r" | "m", data]`)
 * in the database as they pass through the scheduler, in chunks written at most
 * RECORDING_FLUSH_MS after their first event. A chunk the database cannot take now (an outage)
 * is kept, in order, and written when it answers again. The header is made from the session row
 * when the recording is read. What the user types ("i") is kept only when the task's app opted
 * in: it holds passwords typed at hidden prompts. A recording holds at most `maxBytes` of events:
 * past them the session goes on unrecorded, said by a marker where it was cut and one at its end
 * counting what was left out (a program printing for hours would otherwise fill the database).
 */
export class ConsoleRecorder {
  private readonly startedAt = performance.now();
  private readonly output = new TextDecoder('utf-8');
  private readonly input = new TextDecoder('utf-8');
  private pending: string[] = [];
  private pendingBytes = 0;
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Chunks made but not stored yet, oldest first. */
  private readonly unstored: Chunk[] = [];
  private unstoredBytes = 0;
  private draining: Promise<void> | null = null;
  /** Bytes of events kept so far, and those left out once past the limit. */
  private recordedBytes = 0;
  private droppedBytes = 0;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly sessionId: string,
    private readonly log: (line: string) => void,
    private readonly recordsInput = false,
    private readonly maxBytes = DEFAULT_RECORDING_MAX_BYTES,
  ) {}

  recordOutput(bytes: Uint8Array): void {
    // stream: true keeps a UTF-8 sequence split across messages whole.
    this.add('o', this.output.decode(bytes, { stream: true }));
  }

  recordInput(bytes: Uint8Array): void {
    if (!this.recordsInput) return;
    this.add('i', this.input.decode(bytes, { stream: true }));
  }

  recordResize(cols: number, rows: number): void {
    this.add('r', `${cols}x${rows}`);
  }

  private now(): number {
    return Math.round(performance.now() - this.startedAt) / 1000;
  }

  private add(code: 'o' | 'i' | 'r' | 'm', data: string): void {
    if (data.length === 0) return;
    const line = `${JSON.stringify([this.now(), code, data])}\n`;
    const bytes = Buffer.byteLength(line);
    if (code !== 'm' && this.droppedBytes + this.recordedBytes + bytes > this.maxBytes) {
      if (this.droppedBytes === 0) this.add('m', `recording limit reached: a recording holds at most ${formatBytes(this.maxBytes)} (TAPIT_CONSOLE_RECORDING_MAX_BYTES); the rest of the session is not recorded`);
      this.droppedBytes += bytes;
      return;
    }
    this.recordedBytes += bytes;
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), RECORDING_FLUSH_MS);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending.length === 0) return;
    const events = this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    this.unstored.push({ seq: ++this.seq, events });
    this.unstoredBytes += events.length;
    this.bound();
    this.draining ??= this.drain().finally(() => (this.draining = null));
  }

  /** Over the bound: the oldest waiting chunks (not the one being written) become one marker. */
  private bound(): void {
    let dropped = 0;
    while (this.unstoredBytes > MAX_UNSTORED_BYTES && this.unstored.length > 2) {
      const chunk = this.unstored.splice(1, 1)[0]!;
      this.unstoredBytes -= chunk.events.length;
      dropped += chunk.events.length;
    }
    if (dropped === 0) return;
    const next = this.unstored[1]!;
    // Stamped as the events after the gap, so the recording's times never go back.
    const at = (JSON.parse(next.events.slice(0, next.events.indexOf('\n'))) as [number])[0];
    const marker = `${JSON.stringify([at, 'm', `recording gap: ${dropped} bytes of events lost while the database was unavailable`])}\n`;
    next.events = marker + next.events;
    this.unstoredBytes += marker.length;
  }

  private async drain(): Promise<void> {
    while (this.unstored.length > 0) {
      const chunk = this.unstored[0]!;
      const insert = () => this.db.insertInto('console_recording_chunks').values({ session_id: this.sessionId, seq: chunk.seq, events: chunk.events }).execute();
      await retryWhileUnavailable(insert, { firstMs: RECORDING_FLUSH_MS }).catch((error: unknown) => {
        // Stored already (the answer to an earlier try was lost), or refused for good.
        if (!isUniqueViolation(error)) this.log(`console ${this.sessionId}: recording chunk ${chunk.seq} lost: ${coerceError(error).message}`);
      });
      this.unstored.shift();
      this.unstoredBytes -= chunk.events.length;
    }
  }

  /** Writes what is left; the recording is complete once this resolves. */
  async close(): Promise<void> {
    if (this.droppedBytes > 0) this.add('m', `recording limit: ${this.droppedBytes} bytes of the session's events were not recorded (TAPIT_CONSOLE_RECORDING_MAX_BYTES)`);
    this.flush();
    while (this.draining) await this.draining;
  }
}
