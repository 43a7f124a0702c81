import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * What an agent connection's frames wait in: a lane per task, handled in order one frame at a
 * time (a task's log chunks, status and exit never overtake each other), lanes side by side, so
 * a task printing as fast as it can holds back only its own frames, never another task's or the
 * agent's heartbeats. A barrier (hello, the connection's end) waits for every frame before it
 * and holds every frame after it.
 *
 * Each frame starts on a new turn of the event loop: frames whose work never waits (the embedded
 * database answers within the turn) would otherwise run one after the other without letting
 * the API, consoles or heartbeats in. Frames waiting are counted in bytes: past `maxBytes` the
 * connection is not read (`pause`) until they are below half of it, so what one agent makes the
 * scheduler hold stays bounded whatever it sends.
 */
export class FrameLanes {
  private readonly tails = new Map<string, Promise<void>>();
  private gate: Promise<void> = Promise.resolve();
  private bytes = 0;
  private paused = false;

  constructor(
    private readonly options: {
      maxBytes: number;
      /** Stop and start reading the connection. */
      pause(): void;
      resume(): void;
      /** A frame's work failed (it is not retried); the lanes go on. */
      onError(error: unknown): void;
    },
  ) {}

  /** Runs `work` after the earlier frames of `lane` and every barrier before it. */
  push(lane: string, bytes: number, work: () => Promise<void>): void {
    const done = this.run(this.tails.get(lane) ?? this.gate, bytes, work);
    this.tails.set(lane, done);
    // An idle lane is forgotten: a task's lane lives while it has frames waiting.
    void done.then(() => this.tails.get(lane) === done && this.tails.delete(lane));
  }

  /** Runs `work` once every frame pushed before it is handled, and before any pushed after it. */
  barrier(bytes: number, work: () => Promise<void>): void {
    const before = Promise.all([this.gate, ...this.tails.values()]);
    this.tails.clear();
    this.gate = this.run(before, bytes, work);
  }

  private run(before: Promise<unknown>, bytes: number, work: () => Promise<void>): Promise<void> {
    this.bytes += bytes;
    if (!this.paused && this.bytes > this.options.maxBytes) {
      this.paused = true;
      this.options.pause();
    }
    return before
      .then(() => nextTurn())
      .then(work)
      .catch((error) => this.options.onError(error))
      .finally(() => {
        this.bytes -= bytes;
        if (this.paused && this.bytes <= this.options.maxBytes / 2) {
          this.paused = false;
          this.options.resume();
        }
      });
  }
}
