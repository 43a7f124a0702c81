/** The last `capacity` bytes written: a console's recent screen output, replayed on attach. */
export class RingBuffer {
  private buffer: Buffer;
  private start = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    this.buffer = Buffer.alloc(capacity);
  }

  get length(): number {
    return this.size;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length >= this.capacity) {
      this.buffer.set(chunk.subarray(chunk.length - this.capacity));
      this.start = 0;
      this.size = this.capacity;
      return;
    }
    const end = (this.start + this.size) % this.capacity;
    const first = Math.min(chunk.length, this.capacity - end);
    this.buffer.set(chunk.subarray(0, first), end);
    this.buffer.set(chunk.subarray(first), 0);
    const overflow = Math.max(0, this.size + chunk.length - this.capacity);
    this.size = Math.min(this.capacity, this.size + chunk.length);
    this.start = (this.start + overflow) % this.capacity;
  }

  /** A copy of what is held, oldest byte first. */
  contents(): Buffer {
    const end = this.start + this.size;
    if (end <= this.capacity) return Buffer.from(this.buffer.subarray(this.start, end));
    return Buffer.concat([this.buffer.subarray(this.start), this.buffer.subarray(0, end - this.capacity)]);
  }
}
