import { ApiError } from './api-error.js';

/** Long-lived streams (log follows, console and exec sessions) one token may hold open at once. */
export const DEFAULT_MAX_STREAMS_PER_TOKEN = 100;
/**
 * Such streams one replica serves at once, all tokens together: half of TAPIT_MAX_CONNECTIONS'
 * default, so API calls and agents still find connections while streams are at their cap.
 */
export const DEFAULT_MAX_STREAMS = 2048;

export interface StreamCaps {
  /** TAPIT_MAX_STREAMS_PER_TOKEN */
  perToken: number;
  /** TAPIT_MAX_STREAMS */
  total: number;
}

/**
 * Counts the long-lived streams this replica serves, per token and in total, and refuses one past
 * either cap (429 TOO_MANY_STREAMS naming the setting): a token holder cannot hold the replica's
 * connections, memory and database reads with streams it opens without bound.
 */
export class StreamLimits {
  private readonly perToken = new Map<string, number>();
  private open = 0;

  constructor(private readonly caps: StreamCaps = { perToken: DEFAULT_MAX_STREAMS_PER_TOKEN, total: DEFAULT_MAX_STREAMS }) {}

  /** Streams open now, for tests and diagnostics. */
  get openStreams(): number {
    return this.open;
  }

  /**
   * A slot for one more stream of the token named `token`; returns its release, which may be
   * called any number of times (the stream's end, its socket's close). Throws past a cap.
   */
  acquire(token: string): () => void {
    const mine = this.perToken.get(token) ?? 0;
    if (mine >= this.caps.perToken) {
      throw new ApiError(
        'TOO_MANY_STREAMS',
        `too many streams for the token "${token}": at most ${this.caps.perToken} at once (log follows, consoles and execs; TAPIT_MAX_STREAMS_PER_TOKEN=${this.caps.perToken}); end one and retry`,
      );
    }
    if (this.open >= this.caps.total) {
      throw new ApiError('TOO_MANY_STREAMS', `too many streams on this scheduler: at most ${this.caps.total} at once, all tokens together (TAPIT_MAX_STREAMS=${this.caps.total}); retry shortly`, undefined, { retryAfterSeconds: 1 });
    }
    this.open++;
    this.perToken.set(token, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open--;
      const left = (this.perToken.get(token) ?? 1) - 1;
      if (left > 0) this.perToken.set(token, left);
      else this.perToken.delete(token);
    };
  }
}
