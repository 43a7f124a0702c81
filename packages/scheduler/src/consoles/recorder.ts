import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { coerceError } from '../db/errors.js';

const FLUSH_INTERVAL_MS = 1000;
const FLUSH_BYTES = 64 * 1024;

/**
 * Records a console session as asciicast v2 events (`[seconds, "o" | "i" | "r", data]`) in
 * the database as they pass through the scheduler, in chunks, so a crash loses at most a second.
 * The header is made from the session row when the recording is read.
 */
export class ConsoleRecorder {
  private readonly startedAt = performance.now();
  private readonly output = new TextDecoder('utf-8');
  private readonly input = new TextDecoder('utf-8');
  private pending: string[] = [];
  private pendingBytes = 0;
  private seq = 0;
  private writing: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly sessionId: string,
    private readonly log: (line: string) => void,
  ) {
    this.timer = setInterval(() => this.flush(), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  recordOutput(bytes: Uint8Array): void {
    // stream: true keeps a UTF-8 sequence split across messages whole.
    this.add('o', this.output.decode(bytes, { stream: true }));
  }

  recordInput(bytes: Uint8Array): void {
    this.add('i', this.input.decode(bytes, { stream: true }));
  }

  recordResize(cols: number, rows: number): void {
    this.add('r', `${cols}x${rows}`);
  }

  private add(code: 'o' | 'i' | 'r', data: string): void {
    if (data.length === 0) return;
    const seconds = Math.round(performance.now() - this.startedAt) / 1000;
    const line = `${JSON.stringify([seconds, code, data])}\n`;
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const events = this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    const seq = ++this.seq;
    this.writing = this.writing.then(() =>
      this.db
        .insertInto('console_recording_chunks')
        .values({ session_id: this.sessionId, seq, events })
        .execute()
        .then(
          () => undefined,
          (error) => this.log(`console ${this.sessionId}: recording chunk ${seq} lost: ${coerceError(error).message}`),
        ),
    );
  }

  /** Writes what is left; the recording is complete once this resolves. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.flush();
    await this.writing;
  }
}
