import type { CronFields } from './cron-spec.js';

export const DAY_MS = 86_400_000;

const daysInMonth = (year: number, monthIndex: number) => new Date(Date.UTC(year, monthIndex + 1, 0)).getUTCDate();

/** Whether the calendar day `day` (days since 1970-01-01) matches the day-of-month, month and day-of-week fields. */
export function dayMatches(fields: CronFields, day: number): boolean {
  const date = new Date(day * DAY_MS);
  if (!fields.months.includes(date.getUTCMonth() + 1)) return false;
  const dayOfMonth = date.getUTCDate();
  const weekday = date.getUTCDay();
  const lastDay = daysInMonth(date.getUTCFullYear(), date.getUTCMonth());
  const matchesDayOfMonth = fields.daysOfMonth.includes(dayOfMonth) || (fields.lastDayOfMonth && dayOfMonth === lastDay);
  const matchesDayOfWeek =
    (fields.daysOfWeek.includes(weekday) && (fields.nthWeekday === 0 || Math.ceil(dayOfMonth / 7) === fields.nthWeekday)) ||
    (fields.lastWeekdaysOfMonth.includes(weekday) && dayOfMonth + 7 > lastDay);
  // crontab(5): either restricted day field may match when both are; otherwise both must.
  return fields.dayOfMonthRestricted && fields.dayOfWeekRestricted
    ? matchesDayOfMonth || matchesDayOfWeek
    : matchesDayOfMonth && matchesDayOfWeek;
}

/** The first matching day in [from, from + days), or null. */
export function firstMatchingDay(fields: CronFields, from: number, days: number): number | null {
  for (let day = from; day < from + days; day++) if (dayMatches(fields, day)) return day;
  return null;
}

/**
 * Calls `visit` with each wall-clock time (local date and time written as if it were UTC, in ms)
 * that matches the fields, in (from, to], ascending, until `visit` returns false.
 * Whole hours and minutes outside the range are skipped, so a short range costs little.
 */
export function forEachMatchingWallTime(fields: CronFields, from: number, to: number, visit: (wall: number) => boolean): void {
  const { hours, minutes, seconds } = fields;
  for (let day = Math.floor(from / DAY_MS); day <= Math.floor(to / DAY_MS); day++) {
    if (!dayMatches(fields, day)) continue;
    const dayStart = day * DAY_MS;
    for (const hour of hours) {
      const hourStart = dayStart + hour * 3_600_000;
      if (hourStart + 3_600_000 <= from) continue;
      if (hourStart > to) return;
      for (const minute of minutes) {
        const minuteStart = hourStart + minute * 60_000;
        if (minuteStart + 60_000 <= from) continue;
        if (minuteStart > to) return;
        for (const second of seconds) {
          const wall = minuteStart + second * 1000;
          if (wall <= from) continue;
          if (wall > to) return;
          if (!visit(wall)) return;
        }
      }
    }
  }
}
