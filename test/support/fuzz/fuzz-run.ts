import fc from 'fast-check';

/*
 * How long a fuzzer runs. CI uses a fixed seed and each fuzzer's own number of runs, so every run
 * tries the same inputs and the suite's time stays bounded; a developer fuzzes longer or
 * elsewhere with TAPIT_FUZZ_RUNS and TAPIT_FUZZ_SEED (docs/architecture.md, "Fuzzing").
 */

/**
 * Settings of a scheduler under a fuzzer. It sends broken and wrong tokens by design, from one
 * address: with the default limit on failed logins (30 in a burst) every later request would be
 * answered 429 and the handlers behind the token never reached. That limit has its own tests.
 */
export const FUZZ_SCHEDULER_ENV = { TAPIT_AUTH_FAILURES_PER_MINUTE: '1000000' };

/** The seed CI uses: any fixed number would do. */
export const DEFAULT_SEED = 20_210_317;

export interface FuzzBudget {
  seed: number;
  numRuns: number;
  /** The test's time limit, grown in proportion when more runs are asked for. */
  timeoutMs: number;
  /**
   * At least the fuzzer's own number of runs: enough for its checks that the runs reached far
   * (handlers, owned tasks, live sessions), which a short run cannot be held to.
   */
  full: boolean;
}

function positiveInteger(name: string, fallback: number, allowZeroOrNegative = false): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || (!allowZeroOrNegative && value <= 0)) throw new Error(`${name}: must be ${allowZeroOrNegative ? 'an integer' : 'a positive integer'}, not "${raw}"`);
  return value;
}

/** This fuzzer's budget: `runs` properties checked within `timeoutMs`, unless the environment says otherwise. */
export function fuzzBudget(runs: number, timeoutMs: number): FuzzBudget {
  const numRuns = positiveInteger('TAPIT_FUZZ_RUNS', runs);
  return { seed: positiveInteger('TAPIT_FUZZ_SEED', DEFAULT_SEED, true), numRuns, timeoutMs: Math.ceil(timeoutMs * Math.max(1, numRuns / runs)), full: numRuns >= runs };
}

/**
 * Checks `property` within the budget and throws one readable error on the first failure: the
 * failing run's own message (the request and answer, cut to size) with the seed to run it again.
 * Without shrinking: the system under test keeps state, so a shrunk input proves little.
 */
export async function checkWithin<T>(property: fc.IAsyncPropertyWithHooks<T> | fc.IAsyncProperty<T>, budget: FuzzBudget): Promise<void> {
  const details = await fc.check(property, { seed: budget.seed, numRuns: budget.numRuns, endOnFailure: true });
  if (!details.failed) return;
  const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  throw new Error(`failed at run ${details.numRuns} of ${budget.numRuns} (TAPIT_FUZZ_SEED=${details.seed}):\n${cause}`);
}
