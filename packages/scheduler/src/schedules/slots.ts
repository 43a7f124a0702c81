import { DAY_MS, forEachMatchingWallTime } from './wall-times.js';
import type { CronSpec } from './cron-spec.js';
import { zoneOffsetMs } from './time-zone.js';

/**
 * How the cron slots of a zone's wall clock become instants (docs/schedules.md, "Time zones and
 * daylight saving time"). cron-parser only parses: its own iteration (5.10) moves a skipped 02:30
 * to 03:30 instead of 03:00, fires `0-59/15 2 * * *` in one pass of a repeated hour only, and takes
 * seconds for a day of a seconds field. Assumed of the zone database, and true of its rules as
 * they stand: offsets are within ±16 h, and a zone changes its offset at most once in two days.
 */

/** No UTC offset is larger than this, so a wall time and its instants are at most this far apart. */
const MAX_OFFSET_MS = 16 * 3_600_000;
/** How far `nextSlots` looks: the Gregorian calendar repeats after 400 years. */
const HORIZON_MS = 146_097 * DAY_MS;
/** The elapsed-time walk probes the offset at least this often (two changes never fall within it). */
const PROBE_MS = 12 * 3_600_000;
const LAST_MS = 8.64e15 - 2 * HORIZON_MS;

/** The slots strictly after `after` and at or before `until`, ascending, at most `limit` (default 1000). */
export function slotsBetween(spec: CronSpec, after: Date, until: Date, limit = 1000): Date[] {
  return collect(spec, instant(after, 'after'), instant(until, 'until'), wholeNumber(limit, 'limit'));
}

/** The next `count` slots strictly after `after`. */
export function nextSlots(spec: CronSpec, after: Date, count: number): Date[] {
  const from = instant(after, 'after');
  return collect(spec, from, Math.min(from + HORIZON_MS, LAST_MS), wholeNumber(count, 'count'));
}

function instant(date: Date, name: string): number {
  const ms = date instanceof Date ? date.getTime() : Number.NaN;
  if (!Number.isFinite(ms) || Math.abs(ms) > LAST_MS) throw new RangeError(`${name}: not a valid date`);
  return ms;
}

function wholeNumber(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name}: must be a whole number, 0 or more`);
  return value;
}

function collect(spec: CronSpec, after: number, until: number, limit: number): Date[] {
  const slots: number[] = [];
  if (until > after && limit > 0) {
    (spec.fixedTime ? fixedTimeSlots : elapsedTimeSlots)(spec, after, until, (slot) => {
      // Two walls can give one instant (a gap skipping a whole day): each slot once, ascending.
      if (slot > after && slot <= until && slot > (slots.at(-1) ?? -Infinity)) slots.push(slot);
      return slots.length < limit && slot <= until;
    });
  }
  return slots.map((slot) => new Date(slot));
}

/**
 * A fixed-time schedule (one second, minute and hour) fires once on each matching day, as ISC
 * cron: at the first occurrence of a repeated wall time, and at the first instant after the gap
 * when its wall time is skipped. At most one wall time a day, so each is resolved on its own.
 */
function fixedTimeSlots(spec: CronSpec, after: number, until: number, emit: (slot: number) => boolean): void {
  // A wall time's instant lies within MAX_OFFSET_MS of it, on either side.
  forEachMatchingWallTime(spec.fields, after - MAX_OFFSET_MS, until + MAX_OFFSET_MS, (wall) =>
    emit(resolveFixedTime(spec.timezone, wall)),
  );
}

function resolveFixedTime(zone: string, wall: number): number {
  const before = zoneOffsetMs(zone, wall - DAY_MS);
  const after = zoneOffsetMs(zone, wall + DAY_MS);
  if (before === after) return wall - before;
  const change = offsetChange(zone, wall - DAY_MS, wall + DAY_MS);
  const first = wall - before;
  if (first < change) return first; // the only occurrence, or the first of two (clock set back)
  const second = wall - after;
  if (second >= change) return second;
  return change; // skipped by the clock going forward: the first instant after the gap
}

/**
 * Any other schedule follows elapsed time: every instant whose wall time matches is a slot, so a
 * repeated hour fires twice and a skipped hour has no slots. The range is walked in stretches of
 * one offset, where instants and wall times correspond one to one.
 */
function elapsedTimeSlots(spec: CronSpec, after: number, until: number, emit: (slot: number) => boolean): void {
  const zone = spec.timezone;
  let cursor = after; // every slot up to here is emitted
  while (cursor < until) {
    // Jump over stretches with no matching wall time (a sparse schedule looked up years ahead).
    let next: number | undefined;
    forEachMatchingWallTime(spec.fields, cursor - MAX_OFFSET_MS, until + MAX_OFFSET_MS, (wall) => ((next = wall), false));
    if (next === undefined) return;
    cursor = Math.max(cursor, next - MAX_OFFSET_MS - 1000);
    if (cursor >= until) return;
    const offset = zoneOffsetMs(zone, cursor + 1);
    let end = Math.min(cursor + PROBE_MS, until);
    if (zoneOffsetMs(zone, end) !== offset) end = offsetChange(zone, cursor + 1, end) - 1;
    let more = true;
    forEachMatchingWallTime(spec.fields, cursor + offset, end + offset, (wall) => (more = emit(wall - offset)));
    if (!more) return;
    cursor = end;
  }
}

/** The first instant in (from, to] with another offset than `from`'s (offsets differ at the two ends), to the second. */
function offsetChange(zone: string, from: number, to: number): number {
  const offset = zoneOffsetMs(zone, from);
  let low = Math.floor(from / 1000); // in seconds: offset `offset`
  let high = Math.floor(to / 1000); // in seconds: another offset
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (zoneOffsetMs(zone, middle * 1000) === offset) low = middle;
    else high = middle;
  }
  return high * 1000;
}
