import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { SecretBox } from '../secrets/secret-box.js';
import type { AgentSession } from './agent-session.js';
import { applyBackstops } from './backstops.js';
import { placeWaitingTasks } from './placement.js';
import { resendUnansweredAssignments } from './reassign.js';
import { sendStops } from './stops.js';

/** What a pass of the control loop is given, fresh for each run. */
export interface PassContext {
  db: Kysely<Database>;
  /** Opens the stored secrets an assignment carries. */
  secrets: SecretBox;
  /** The agents connected to this replica, by name. */
  sessions: Map<string, AgentSession>;
  /**
   * Since when this replica could hear agents: its start, or the end of a database outage or
   * stall. Nothing may be judged on an agent's silence before a whole grace period of listening.
   */
  listeningSince: number;
  agentLostGraceSeconds: number;
  heartbeatIntervalMs: number;
  deadlineSlackSeconds: number;
  log: (line: string) => void;
}

export interface PassResult {
  /** Tasks this pass changed: their log followers are woken. */
  changed?: readonly string[];
  /** There is more to do at once (a full batch, tasks created for placement): run again now. */
  again?: boolean;
}

/**
 * A pass that failed after it had changed some tasks (one of several placement batches): the
 * loop wakes those tasks' followers, then takes `cause` as the pass's failure.
 */
export class FailedAfterChanges extends Error {
  constructor(
    override readonly cause: unknown,
    readonly changed: readonly string[],
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

/**
 * One independent piece of the control loop's work. A pass that throws is logged and the next
 * one runs all the same; only the database being unavailable ends the run (every pass needs it).
 * A pass must be safe on every replica at once (guarded updates, `SKIP LOCKED` claims).
 */
export interface ControlPass {
  name: string;
  /**
   * Also run at once when work is signalled (a create, a stop, an agent ready), not only on the
   * poll: the passes whose delay a user waits out. The others (deadlines, lost agents, webhooks,
   * retention…) wait for the next poll: run on every signal, a burst of creates ran them all
   * after each batch, half of the scheduler's statements (bench/scale).
   */
  onSignal?: boolean;
  run(context: PassContext): Promise<PassResult | void>;
}

/** Rounds of full placement batches a run places at most before the other passes have their turn. */
const PLACEMENT_ROUNDS = 3;
/**
 * Placement batches claimed at once while a queue is long (bench/scale, 1,000 agents, 20,000
 * tasks: one at a time 4,230-4,335 tasks/s, two 4,502-4,715, three 4,751-5,130).
 */
const PLACEMENT_BATCHES_AT_ONCE = 3;

/**
 * What every replica's control loop runs, in this order, on every poll (and, those `onSignal`,
 * at once when work is signalled). A new kind of work is one more line here.
 */
export const CONTROL_PASSES: readonly ControlPass[] = [
  {
    name: 'placement',
    onSignal: true,
    run: async ({ db, secrets, sessions }) => {
      // A long queue is placed a few rounds of full batches at a time before the other passes run
      // again: between every batch they cost as much as the batch itself. A stop waits at most
      // these rounds: 1 + 2 × 3 batches (5,600 tasks, about a second in bench/scale).
      const changed: string[] = [];
      let batches = 1;
      for (let round = 0; round < PLACEMENT_ROUNDS; round++) {
        // Every batch ends before the pass does: one that failed (a deadlock) does not hide what
        // the others placed, and none is left running into the next run.
        const outcomes = await Promise.allSettled(Array.from({ length: batches }, () => placeWaitingTasks(db, secrets, sessions.values())));
        const placed = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
        for (const { ids } of placed) changed.push(...ids);
        const failed = outcomes.find((outcome) => outcome.status === 'rejected');
        if (failed) throw new FailedAfterChanges(failed.reason, changed);
        if (placed.some((batch) => !batch.more)) return { changed };
        // A full batch: a queue. The next ones are claimed side by side (SKIP LOCKED hands each
        // its own tasks), so one transaction's round trips overlap the others'. They take their
        // agents' room in the order their claims come back: with too little room for them all, a
        // newer task may be placed before an older one (each still once, within the room).
        batches = PLACEMENT_BATCHES_AT_ONCE;
      }
      return { changed, again: true };
    },
  },
  { name: 'stops', onSignal: true, run: async ({ db, sessions }) => ({ changed: await sendStops(db, sessions) }) },
  { name: 'backstops', run: async (context) => ({ changed: await applyBackstops(context.db, context) }) },
  { name: 'resend', run: ({ db, secrets, sessions }) => resendUnansweredAssignments({ db, secrets }, sessions) },
];
