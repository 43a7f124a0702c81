import type { MissedRunPolicy } from '@tapit/protocol';
import { MISSED_ROWS_PER_CATCH_UP } from './limits.js';
import { formatInZone, nextSlots, slotsBetween, type CronSpec } from './cron-spec.js';

/** What to do with one due slot. */
export type SlotStep = { at: Date; action: 'fire' } | { at: Date; action: 'skip'; reason: string };

export interface SlotPlan {
  /** In time order: slots to fire, and missed slots to record as skipped (at most MISSED_ROWS_PER_CATCH_UP). */
  steps: SlotStep[];
  /** Missed slots in all, recorded or not. */
  missed: number;
  /** The first slot after `now`: the schedule's next_run_at. */
  next: Date;
}

export interface PlanInput {
  /** The schedule's next_run_at: the earliest slot not handled yet (inclusive). */
  from: Date;
  /** The database's now: slots up to it (inclusive) are due. */
  now: Date;
  missedAfterSeconds: number;
  missed: MissedRunPolicy;
  startingDeadlineSeconds: number | null;
}

const CHUNK = 1000;

/**
 * Decides what happens to a schedule's due slots. A slot handled more than the tolerance after its
 * time (TAPIT_SCHEDULE_MISSED_AFTER_SECONDS, or the schedule's startingDeadlineSeconds when shorter)
 * was missed; the others fire, late. Missed slots are skipped, except with missed=latest the most
 * recent one, which runs when it is within startingDeadlineSeconds and no later slot fires now.
 * Slots are enumerated in chunks, yielding between them, so a long outage of a seconds-level
 * schedule costs time in proportion but never blocks the process; only a bounded number of rows
 * is recorded for them.
 */
export async function planSlots(spec: CronSpec, input: PlanInput): Promise<SlotPlan> {
  const { from, now, startingDeadlineSeconds: deadline } = input;
  const toleranceSeconds = Math.min(input.missedAfterSeconds, deadline ?? Infinity);
  const missedBefore = now.getTime() - toleranceSeconds * 1000;
  const fire: Date[] = [];
  let firstMissed: Date | null = null;
  /** The newest missed slots after the first, oldest first. */
  const newest: Date[] = [];
  let missed = 0;
  let after = new Date(from.getTime() - 1);
  for (;;) {
    const chunk = slotsBetween(spec, after, now, CHUNK);
    for (const slot of chunk) {
      if (slot.getTime() >= missedBefore) {
        fire.push(slot);
        continue;
      }
      missed++;
      if (firstMissed === null) firstMissed = slot;
      else {
        newest.push(slot);
        if (newest.length > MISSED_ROWS_PER_CATCH_UP - 1) newest.shift();
      }
    }
    if (chunk.length < CHUNK) break;
    after = chunk[chunk.length - 1]!;
    await new Promise((resolve) => setImmediate(resolve));
  }
  const next = nextSlots(spec, now, 1)[0]!;
  if (missed === 0) return { steps: fire.map((at) => ({ at, action: 'fire' as const })), missed, next };

  const latest = newest.at(-1) ?? firstMissed!;
  const withinDeadline = deadline === null || now.getTime() - latest.getTime() <= deadline * 1000;
  const runLatest = input.missed === 'latest' && fire.length === 0 && withinDeadline;
  const why = `missed: not fired within ${toleranceSeconds} s of its time (no scheduler was running, or none could reach the database)`;
  let policy: string;
  if (input.missed === 'skip') policy = '(missed=skip)';
  else if (fire.length > 0) policy = '; a later slot ran (missed=latest)';
  else if (runLatest) policy = `; the latest missed slot, ${formatInZone(latest, spec.timezone)}, ran instead (missed=latest)`;
  else policy = `; too late to run: more than startingDeadlineSeconds=${deadline} past its time (missed=latest)`;
  const reason = `${why} ${policy}`.replace(' ;', ';');

  const steps: SlotStep[] = [];
  const unrecorded = missed - 1 - newest.length;
  const summary = unrecorded > 0 ? `; the ${unrecorded} missed slots between it and ${formatInZone(newest[0]!, spec.timezone)} are not recorded one by one` : '';
  const recorded = [firstMissed!, ...newest];
  recorded.forEach((at, index) => {
    if (runLatest && at === latest) steps.push({ at, action: 'fire' });
    else steps.push({ at, action: 'skip', reason: index === 0 ? `${reason}${summary}` : reason });
  });
  steps.push(...fire.map((at) => ({ at, action: 'fire' as const })));
  return { steps, missed, next };
}
