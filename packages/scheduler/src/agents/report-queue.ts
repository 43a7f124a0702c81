import { isDatabaseUnavailable } from '../db/errors.js';

/** Reports applied at most per flush: a statement's VALUES list stays small. */
export const REPORT_BATCH = 500;
/** How long the first report of a quiet moment waits for others to join it. */
export const REPORT_DELAY_MS = 2;

export interface ReportQueueOptions<In, Out> {
  /** Applies reports together (one transaction, set-based statements); the outcomes in their order. */
  apply: (reports: In[]) => Promise<Out[]>;
  /** The task a report is about: two reports of one task never share a flush, so they apply in order. */
  keyOf: (report: In) => string;
  maxBatch?: number;
  delayMs?: number;
}

interface Waiting<In, Out> {
  report: In;
  resolve: (out: Out) => void;
  reject: (error: unknown) => void;
}

/**
 * Agents' reports of one kind, from every agent connected to this process, applied together:
 * a placed task's reports cost a round trip per statement each, and a thousand agents send them
 * at once. The first report of a quiet moment waits `delayMs` for others; while a flush runs,
 * the next ones gather, and go as soon as it ends (group commit). Each report's promise settles
 * with its own outcome once its flush committed, so a caller that awaits it (a task's frame lane)
 * keeps its order and its ack as if it had been applied alone.
 */
export class ReportQueue<In, Out> {
  private waiting: Waiting<In, Out>[] = [];
  private flushing = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly maxBatch: number;
  private readonly delayMs: number;

  constructor(private readonly options: ReportQueueOptions<In, Out>) {
    this.maxBatch = options.maxBatch ?? REPORT_BATCH;
    this.delayMs = options.delayMs ?? REPORT_DELAY_MS;
  }

  /** Applies `report` with the others waiting; its outcome, or the error of applying it. */
  add(report: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.waiting.push({ report, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.flushing) return; // the flush under way takes them when it ends
    if (this.waiting.length >= this.maxBatch) return void this.flush();
    this.timer ??= setTimeout(() => void this.flush(), this.delayMs);
  }

  private async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.flushing || this.waiting.length === 0) return;
    this.flushing = true;
    try {
      await this.run(this.take());
    } finally {
      this.flushing = false;
      // What gathered meanwhile has waited long enough.
      if (this.waiting.length > 0) void this.flush();
    }
  }

  /** The next flush's reports: the oldest, at most one per task; the rest keep their place. */
  private take(): Waiting<In, Out>[] {
    const batch: Waiting<In, Out>[] = [];
    const left: Waiting<In, Out>[] = [];
    const keys = new Set<string>();
    for (const entry of this.waiting) {
      const key = this.options.keyOf(entry.report);
      if (batch.length >= this.maxBatch || keys.has(key)) left.push(entry);
      else {
        keys.add(key);
        batch.push(entry);
      }
    }
    this.waiting = left;
    return batch;
  }

  private async run(batch: Waiting<In, Out>[]): Promise<void> {
    try {
      const outs = await this.options.apply(batch.map((entry) => entry.report));
      batch.forEach((entry, i) => entry.resolve(outs[i]!));
    } catch (error) {
      // The database away fails them all alike (their callers wait and retry). Anything else (a
      // report the database refuses, a deadlock with another batch) is no other report's failure:
      // each is applied again on its own.
      if (batch.length === 1 || isDatabaseUnavailable(error)) return batch.forEach((entry) => entry.reject(error));
      for (const entry of batch) {
        await this.options.apply([entry.report]).then(([out]) => entry.resolve(out!), entry.reject);
      }
    }
  }
}
