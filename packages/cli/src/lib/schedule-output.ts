import type { Schedule, ScheduleRun, UpcomingRun } from '@tapit/protocol';
import { runHistoryListing, scheduleDetails as scheduleDetailPairs, scheduleListing, upcomingListing } from '@tapit/protocol/format';
import { details, listingTable } from './output.js';

export { formatLocal } from '@tapit/protocol/format';

export function scheduleTable(schedules: readonly Schedule[]): string {
  if (schedules.length === 0) return 'No schedules.';
  return listingTable(scheduleListing(schedules));
}

/** A schedule's settings and what each of its runs creates, one `Key: value` per line. */
export function scheduleDetails(schedule: Schedule, bin = 'tapit'): string {
  return details(scheduleDetailPairs(schedule, bin));
}

/** The next slots in the schedule's own zone and in UTC. */
export function upcomingRuns(schedule: Pick<Schedule, 'timezone' | 'suspended'>, upcoming: readonly UpcomingRun[]): string {
  if (upcoming.length === 0) return `Next runs: none${schedule.suspended ? ' while suspended' : ''}`;
  return `Next runs:\n${indent(listingTable(upcomingListing(schedule, upcoming)))}`;
}

/**
 * Recent slots, newest first: one row per attempt (a slot's later attempts on rows of their own
 * under it), and a skipped slot with the reason it was skipped.
 */
export function runHistory(runs: readonly ScheduleRun[]): string {
  if (runs.length === 0) return 'Recent runs: none yet';
  return `Recent runs, newest first:\n${indent(listingTable(runHistoryListing(runs)))}`;
}

function indent(text: string): string {
  return text.replace(/^/gm, '  ');
}
