import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

/** How often the tokens of open streams are checked for a revocation made on another replica. */
export const REVOCATION_CHECK_MS = 1000;

/**
 * The long-lived connections opened with each token (console and exec sessions, log follows),
 * so that revoking a token ends them too, not only its next request: at once when the
 * revocation is made on this replica, and within REVOCATION_CHECK_MS when it is made on
 * another (the tokens table is checked while any such connection is open).
 */
export class TokenWatch {
  private readonly open = new Map<string, Set<() => void>>();
  private timer: NodeJS.Timeout | null = null;
  private checking = false;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly checkIntervalMs = REVOCATION_CHECK_MS,
  ) {}

  /** Calls `onRevoked` once if the token named `tokenName` is revoked; returns the way to stop watching. */
  watch(tokenName: string, onRevoked: () => void): () => void {
    const listeners = this.open.get(tokenName) ?? new Set();
    listeners.add(onRevoked);
    this.open.set(tokenName, listeners);
    return () => {
      listeners.delete(onRevoked);
      if (listeners.size === 0 && this.open.get(tokenName) === listeners) this.open.delete(tokenName);
    };
  }

  /** The token was revoked: end everything opened with it. */
  revoked(tokenName: string): void {
    const listeners = this.open.get(tokenName);
    this.open.delete(tokenName);
    for (const onRevoked of listeners ?? []) onRevoked();
  }

  /** Looks up the watched tokens once; revoked ones are ended. */
  async check(): Promise<void> {
    if (this.open.size === 0 || this.checking) return;
    this.checking = true;
    try {
      const rows = await this.db
        .selectFrom('tokens')
        .select('name')
        .where('name', 'in', [...this.open.keys()])
        .where('revoked_at', 'is not', null)
        .execute();
      for (const { name } of rows) this.revoked(name);
    } finally {
      this.checking = false;
    }
  }

  start(): void {
    this.timer ??= setInterval(() => void this.check().catch(() => undefined), this.checkIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
