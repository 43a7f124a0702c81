import { BatchQueue } from '../db/batch-queue.js';
import { isDatabaseUnavailable } from '../db/errors.js';

/** Reports applied at most per flush: a statement's VALUES list stays small. */
export const REPORT_BATCH = 500;

/**
 * Agents' reports of one kind, from every agent connected to this process, applied together by
 * group commit (db/batch-queue.ts): a placed task's reports cost a round trip per statement each,
 * and a thousand agents send them at once. Reports arriving while a flush runs go in the next one;
 * a report alone goes at once (no timer on the dispatch path). Two reports of one task (or agent)
 * never share a flush, so they apply in the order sent; each report's promise settles with its
 * own outcome once its flush committed, so a caller that awaits it (a task's frame lane) keeps
 * its order and its ack as if it had been applied alone.
 */
export function reportQueue<In, Out>(
  /** Applies reports together (one transaction, set-based statements); the outcomes in their order. */
  apply: (reports: In[]) => Promise<Out[]>,
  /** What a report is about (a task, an agent): two reports of one never share a flush. */
  subjectOf: (report: In) => string,
): BatchQueue<In, Out> {
  return new BatchQueue<In, Out>({
    commit: async (reports) => (await apply(reports)).map((value) => ({ ok: true, value })),
    conflictKey: subjectOf,
    maxBatch: REPORT_BATCH,
    // The database away fails them all alike (their callers wait and retry). Anything else (a
    // report the database refuses, a deadlock with another batch) is no other report's failure:
    // each is applied again on its own.
    retryAlone: (error) => !isDatabaseUnavailable(error),
  });
}
