/** What one item of a batch came to: its own answer, or its own error. */
export type Settled<O> = { ok: true; value: O } | { ok: false; error: unknown };

export interface BatchQueueOptions<I, O> {
  /**
   * Handles `items` together (one transaction, one statement) and settles each. It answers an item's own
   * failure (a bad reference, a reused key) in that item's slot; a throw means the batch as a
   * whole failed, and each of its items is then handled alone, so one bad item never fails others.
   */
  commit: (items: I[]) => Promise<Settled<O>[]>;
  /**
   * Whether a batch that failed as a whole is worth handling again item by item (default: yes).
   * Not when the database is unreachable: each item alone would wait out the same failure in
   * turn, so all of them get that error at once.
   */
  retryAlone?: (error: unknown) => boolean;
  /** Items with the same key never share a batch (one statement cannot claim a key twice). */
  conflictKey?: (item: I) => string | null;
  /** Most items in one batch. */
  maxBatch?: number;
  /**
   * Most batches handled at once (each holds a pooled connection). One by default: the fewer
   * batches, the bigger each, and a round trip costs more than the statement (bench/scale).
   */
  maxInFlight?: number;
}

interface Waiting<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit (and its read twin): items submitted while a batch is being handled wait and are
 * handled together in the next, so a burst of N requests costs a few statements instead of N,
 * while each caller still gets its own answer or error. A batch starts only after its items
 * arrived (never joins one in flight), so what it reads is never older than its requests. An
 * item alone goes at once (after the current turn of the event loop, so requests parsed in the
 * same turn share it): no timer, no added latency.
 */
export class BatchQueue<I, O> {
  private readonly queue: Waiting<I, O>[] = [];
  private inFlight = 0;
  private scheduled = false;
  private readonly maxBatch: number;
  private readonly maxInFlight: number;

  constructor(private readonly options: BatchQueueOptions<I, O>) {
    this.maxBatch = options.maxBatch ?? 200;
    this.maxInFlight = options.maxInFlight ?? 1;
  }

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0 || this.inFlight >= this.maxInFlight) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.queue.length === 0 || this.inFlight >= this.maxInFlight) return;
    const batch = this.take();
    this.inFlight++;
    void this.write(batch).finally(() => {
      this.inFlight--;
      this.schedule();
    });
    this.schedule();
  }

  /** The oldest items, at most maxBatch, leaving a repeated conflict key for a later batch. */
  private take(): Waiting<I, O>[] {
    const batch: Waiting<I, O>[] = [];
    const keys = new Set<string>();
    const rest: Waiting<I, O>[] = [];
    for (const waiting of this.queue) {
      const key = this.options.conflictKey?.(waiting.item) ?? null;
      if (batch.length >= this.maxBatch || (key !== null && keys.has(key))) {
        rest.push(waiting);
        continue;
      }
      if (key !== null) keys.add(key);
      batch.push(waiting);
    }
    this.queue.splice(0, this.queue.length, ...rest);
    return batch;
  }

  private async write(batch: Waiting<I, O>[]): Promise<void> {
    let results: Settled<O>[];
    try {
      results = await this.options.commit(batch.map((w) => w.item));
    } catch (error) {
      if (batch.length === 1 || this.options.retryAlone?.(error) === false) {
        for (const waiting of batch) waiting.reject(error);
        return;
      }
      // The batch failed as a whole (a row that broke a constraint, a lost connection): each
      // item alone, one after the other, so only the item that causes it fails.
      for (const waiting of batch) await this.write([waiting]);
      return;
    }
    batch.forEach((waiting, i) => {
      const result = results[i]!;
      if (result.ok) waiting.resolve(result.value);
      else waiting.reject(result.error);
    });
  }
}
