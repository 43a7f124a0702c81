import { sql, type Kysely } from 'kysely';
import { describeDatabaseError } from './errors.js';
import type { Database } from './schema.js';

/** How long `/healthz` waits for the database before it says it is unavailable. */
export const HEALTH_TIMEOUT_MS = 2000;

/**
 * Whether the database answers now: one `select 1`, bounded by a short timeout, shared by the
 * callers that ask at the same time (a load balancer polling every replica costs one query).
 * Resolves to null when it answered, else to the reason.
 */
export class DatabaseProbe {
  private inFlight: Promise<string | null> | null = null;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly timeoutMs = HEALTH_TIMEOUT_MS,
  ) {}

  check(): Promise<string | null> {
    this.inFlight ??= this.run().finally(() => (this.inFlight = null));
    return this.inFlight;
  }

  private async run(): Promise<string | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`the database did not answer within ${this.timeoutMs} ms`), this.timeoutMs);
    });
    const query = sql`select 1`.execute(this.db).then(
      () => null,
      (error: unknown) => describeDatabaseError(error),
    );
    try {
      return await Promise.race([query, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
