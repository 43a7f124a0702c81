/**
 * Exponential backoff with full jitter (AWS architecture blog): a random wait up to
 * min(cap, base·2^attempt), so agents that lost the same scheduler do not return in lockstep.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly baseMs = 250,
    private readonly capMs = 10_000,
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    const ceiling = Math.min(this.capMs, this.baseMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    return Math.floor(this.random() * ceiling);
  }

  reset(): void {
    this.attempt = 0;
  }
}
