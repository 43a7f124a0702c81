import { DomainError } from '../domain/domain-error.js';

/** What a user sees of what they typed: at most 100 characters, quoted, on one line. */
export const quoteInput = (text: string): string => JSON.stringify(text.length > 100 ? `${text.slice(0, 100)}…` : text);

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timezone: string): Intl.DateTimeFormat {
  let found = formatters.get(timezone);
  if (!found) {
    // h23: some ICU versions write midnight as hour 24 under hour12: false.
    found = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timezone, found);
  }
  return found;
}

let supportedByLowerCase: Map<string, string> | undefined;

/**
 * Validates an IANA time zone name and returns it spelled as the zone database does
 * (`europe/berlin` → `Europe/Berlin`); an unknown zone, or an offset such as `+02:00`, is refused.
 */
export function parseTimeZone(name: string): string {
  const refuse = () =>
    new DomainError(
      'VALIDATION_FAILED',
      `timezone: unknown time zone ${quoteInput(String(name))}; use an IANA name such as UTC, Europe/Berlin or America/New_York`,
      'timezone',
    );
  // Newer engines also take offsets ("+02:00"): those have no daylight saving time and are not names.
  if (typeof name !== 'string' || !/^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/.test(name)) throw refuse();
  let resolved: string;
  try {
    resolved = formatter(name).resolvedOptions().timeZone;
  } catch {
    throw refuse();
  }
  if (resolved === name) return name;
  if (resolved.toLowerCase() === name.toLowerCase()) return resolved;
  // ICU resolves some names to older links (Asia/Kolkata → Asia/Calcutta): keep the user's name, fix its case.
  supportedByLowerCase ??= new Map(Intl.supportedValuesOf('timeZone').map((zone) => [zone.toLowerCase(), zone]));
  return supportedByLowerCase.get(name.toLowerCase()) ?? name;
}

/** A validated zone's offset from UTC at an instant, in milliseconds (local wall clock minus UTC). */
export function zoneOffsetMs(timezone: string, instantMs: number): number {
  if (timezone === 'UTC') return 0;
  // Offsets are whole seconds; the formatter drops milliseconds, so compare whole seconds.
  const second = Math.floor(instantMs / 1000) * 1000;
  const fields: Record<string, number> = {};
  for (const part of formatter(timezone).formatToParts(second)) {
    if (part.type !== 'literal') fields[part.type] = Number(part.value);
  }
  const wall = Date.UTC(fields.year!, fields.month! - 1, fields.day!, fields.hour!, fields.minute!, fields.second!);
  return wall - second;
}

const pad = (value: number, width = 2) => String(value).padStart(width, '0');

/** An instant as local time in a zone with its offset, e.g. `2026-03-29T03:00:00+02:00`. */
export function formatInZone(instant: Date, timezone: string): string {
  const zone = parseTimeZone(timezone);
  const ms = instant.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('formatInZone: not a valid date');
  const offset = zoneOffsetMs(zone, ms);
  const wall = new Date(ms + offset);
  const millis = wall.getUTCMilliseconds();
  const abs = Math.abs(offset) / 1000;
  const offsetSeconds = abs % 60;
  const sign = offset < 0 ? '-' : '+';
  return (
    `${pad(wall.getUTCFullYear(), 4)}-${pad(wall.getUTCMonth() + 1)}-${pad(wall.getUTCDate())}` +
    `T${pad(wall.getUTCHours())}:${pad(wall.getUTCMinutes())}:${pad(wall.getUTCSeconds())}` +
    (millis ? `.${pad(millis, 3)}` : '') +
    `${sign}${pad(Math.floor(abs / 3600))}:${pad(Math.floor(abs / 60) % 60)}` +
    // Local mean times before 1900 had offsets in seconds.
    (offsetSeconds ? `:${pad(offsetSeconds)}` : '')
  );
}
