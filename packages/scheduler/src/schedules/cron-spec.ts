import { createRequire } from 'node:module';
import type { CronExpressionParser as Parser } from 'cron-parser';
import { DomainError } from '../domain/domain-error.js';
import { firstMatchingDay } from './wall-times.js';
import { parseTimeZone, quoteInput } from './time-zone.js';

export { formatInZone } from './time-zone.js';
export { nextSlots, slotsBetween } from './slots.js';

/** The expanded fields of an expression: sorted values, Sunday as 0. */
export interface CronFields {
  readonly seconds: readonly number[];
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly daysOfMonth: readonly number[];
  /** `L` in day-of-month: the month's last day. */
  readonly lastDayOfMonth: boolean;
  readonly months: readonly number[];
  readonly daysOfWeek: readonly number[];
  /** `5L` in day-of-week: the month's last Friday. */
  readonly lastWeekdaysOfMonth: readonly number[];
  /** `1#2` in day-of-week: the month's 2nd Monday (0: no such constraint). */
  readonly nthWeekday: number;
  /** As crontab(5): when both day fields are restricted (neither starts with `*`), either may match; otherwise both must. */
  readonly dayOfMonthRestricted: boolean;
  readonly dayOfWeekRestricted: boolean;
}

/** A validated cron expression in a time zone. */
export interface CronSpec {
  /** As given, with its whitespace collapsed (a macro in lower case). */
  readonly expression: string;
  /** An IANA name, spelled as the zone database does. */
  readonly timezone: string;
  readonly fields: CronFields;
  /**
   * One second, one minute and one hour (`30 2 * * *`): a fixed-time schedule, which at DST
   * changes fires once a day as ISC cron does; any other follows elapsed time (see docs/schedules.md).
   */
  readonly fixedTime: boolean;
}

export const MAX_CRON_EXPRESSION_LENGTH = 200;

// cron-parser (with luxon, 0.5 MB of source and 1–2 MB of heap) loaded at the first expression
// parsed: a scheduler without schedules never needs it. Synchronous, as parsing is.
const requireModule = createRequire(import.meta.url);
let parser: typeof Parser | undefined;
function cronParser(): typeof Parser {
  return (parser ??= (requireModule('cron-parser') as typeof import('cron-parser')).CronExpressionParser);
}

const FORMS =
  '5 fields: minute hour day-of-month month day-of-week, an optional leading seconds field, or a macro such as @hourly, @daily';

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const FIELDS = [
  { name: 'second', allowed: '0-59' },
  { name: 'minute', allowed: '0-59' },
  { name: 'hour', allowed: '0-23' },
  { name: 'day-of-month', allowed: '1-31 or L' },
  { name: 'month', allowed: '1-12 or JAN-DEC' },
  { name: 'day-of-week', allowed: '0-7 or SUN-SAT (0 and 7 are Sunday), 5L for the last Friday, 1#2 for the 2nd Monday' },
] as const;

const invalid = (expression: string, reason: string) =>
  new DomainError('VALIDATION_FAILED', `cron: ${quoteInput(expression)} is not a valid cron expression: ${reason} (${FORMS})`, 'cron');

/** Parses and validates; a bad expression is refused naming the field `cron`, an unknown zone naming `timezone`. */
export function parseCronSpec(expression: string, timezone = 'UTC'): CronSpec {
  if (typeof expression !== 'string') throw invalid(String(expression), 'it is not text');
  const trimmed = expression.trim().replace(/\s+/g, ' ');
  if (trimmed.length > MAX_CRON_EXPRESSION_LENGTH) {
    throw invalid(trimmed, `it is ${trimmed.length} characters long; at most ${MAX_CRON_EXPRESSION_LENGTH} are allowed`);
  }
  let normalized = trimmed;
  let sixFields: string[];
  if (trimmed.startsWith('@')) {
    const macro = trimmed.toLowerCase();
    const expansion = MACROS[macro];
    if (!expansion) throw invalid(trimmed, refusedMacro(macro));
    normalized = macro;
    sixFields = ['0', ...expansion.split(' ')];
  } else {
    const atoms = trimmed === '' ? [] : trimmed.split(' ');
    if (atoms.length !== 5 && atoms.length !== 6) {
      throw invalid(trimmed, atoms.length === 0 ? 'it is empty' : `it has ${atoms.length} field${atoms.length === 1 ? '' : 's'}`);
    }
    sixFields = atoms.length === 5 ? ['0', ...atoms] : atoms;
  }
  const fields = parseFields(trimmed, sixFields);
  // Checked over the 400-year Gregorian cycle, after which the calendar repeats.
  if (firstMatchingDay(fields, 0, 146_097) === null) {
    throw invalid(trimmed, 'it never fires: no date matches its day-of-month, month and day-of-week fields');
  }
  return {
    expression: normalized,
    timezone: parseTimeZone(timezone),
    fields,
    fixedTime: fields.seconds.length === 1 && fields.minutes.length === 1 && fields.hours.length === 1,
  };
}

function refusedMacro(macro: string): string {
  if (macro.startsWith('@every')) return '@every intervals are not supported; write the interval as fields, e.g. */5 * * * * for every 5 minutes';
  if (macro === '@reboot') return '@reboot is not supported: a schedule fires at times, not at a start';
  return 'the macros are @yearly, @annually, @monthly, @weekly, @daily, @midnight and @hourly';
}

function parseFields(expression: string, raw: string[]): CronFields {
  let parsed;
  try {
    parsed = cronParser().parse(raw.join(' '), { tz: 'UTC' }).fields;
  } catch {
    throw invalid(expression, describeProblem(raw));
  }
  // cron-parser picks a random value for H, so replicas would disagree on the slots (THU is a day).
  const hashed = raw.findIndex((text) => /h/i.test(text.replace(/thu/gi, '')));
  if (hashed >= 0) throw invalid(expression, `${FIELDS[hashed]!.name}: H (a random value) is not supported`);
  const numbers = (values: readonly (number | string)[]) =>
    [...new Set(values.filter((value): value is number => typeof value === 'number'))].sort((a, b) => a - b);
  const weekdays: readonly (number | string)[] = parsed.dayOfWeek.values;
  return {
    seconds: numbers(parsed.second.values),
    minutes: numbers(parsed.minute.values),
    hours: numbers(parsed.hour.values),
    daysOfMonth: numbers(parsed.dayOfMonth.values),
    lastDayOfMonth: parsed.dayOfMonth.values.some((value) => value === 'L'),
    months: numbers(parsed.month.values),
    daysOfWeek: [...new Set(numbers(weekdays).map((day) => day % 7))].sort((a, b) => a - b),
    lastWeekdaysOfMonth: [
      ...new Set(weekdays.filter((value): value is string => typeof value === 'string').map((value) => Number.parseInt(value, 10) % 7)),
    ].sort((a, b) => a - b),
    nthWeekday: parsed.dayOfWeek.nthDay,
    dayOfMonthRestricted: !/^[*?]/.test(raw[3]!),
    dayOfWeekRestricted: !/^[*?]/.test(raw[5]!),
  };
}

/** Which field cron-parser refused, found by parsing each field alone, and why in words. */
function describeProblem(raw: string[]): string {
  for (let index = 0; index < raw.length; index++) {
    const alone = raw.map((text, other) => (other === index ? text : '*'));
    try {
      cronParser().parse(alone.join(' '), { tz: 'UTC' });
    } catch (fieldError) {
      const { name, allowed } = FIELDS[index]!;
      const text = raw[index]!;
      if (/\/0*(?:[^\d]|$)/.test(text)) return `${name} steps must be 1 or more`;
      const backwards = [...text.matchAll(/(\d+)-(\d+)/g)].find((range) => Number(range[1]) > Number(range[2]));
      if (backwards) return `${name} range ${backwards[0]} runs backwards`;
      if (String(fieldError).includes('duplicate')) return `${name} lists a value twice`;
      return `${name} must be ${allowed}`;
    }
  }
  // Each field is fine alone: the combination is not (cron-parser: a day that no month has).
  return 'it never fires: no date matches its day-of-month, month and day-of-week fields';
}
