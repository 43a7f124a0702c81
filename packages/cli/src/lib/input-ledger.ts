import { randomBytes } from 'node:crypto';

/** Keys in flight when a link breaks are a few bytes; a paste, a few kilobytes. */
const KEPT_BYTES = 64 * 1024;

/**
 * The keyboard input one `tapit run` sent to its console, across reconnects: how many bytes in
 * all, and the last of them. A reconnected console says how many of them it took
 * (`attached.inputReceived`); what came after was lost with the old link and is sent again.
 */
export class InputLedger {
  /** Names this CLI to the console, the same on every reconnect (OpenConsoleQuery.client). */
  readonly client = randomBytes(16).toString('hex');
  private total = 0;
  private kept: Buffer[] = [];
  private keptBytes = 0;

  /** Bytes sent (or meant to be) so far, in all. */
  get sent(): number {
    return this.total;
  }

  /** `bytes` went out (or were meant to: a link that just broke loses them). */
  record(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.total += bytes.length;
    this.kept.push(Buffer.from(bytes));
    this.keptBytes += bytes.length;
    while (this.keptBytes - this.kept[0]!.length >= KEPT_BYTES) this.keptBytes -= this.kept.shift()!.length;
  }

  /**
   * What the console did not take, when it took `received` bytes: the bytes sent after them
   * (as far as they are kept). Empty when it took everything.
   */
  after(received: number): Buffer {
    const missing = this.total - received;
    if (missing <= 0) return Buffer.alloc(0);
    const all = Buffer.concat(this.kept);
    return all.subarray(Math.max(0, all.length - missing));
  }
}
