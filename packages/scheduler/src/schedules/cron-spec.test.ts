import { describe, expect, test } from 'vitest';
import { DomainError } from '../domain/domain-error.js';
import { formatInZone, nextSlots, parseCronSpec, slotsBetween } from './cron-spec.js';
import { zoneOffsetMs } from './time-zone.js';

const iso = (dates: Date[]) => dates.map((date) => date.toISOString().replace('.000Z', 'Z'));
const between = (expression: string, zone: string, after: string, until: string, limit?: number) =>
  iso(slotsBetween(parseCronSpec(expression, zone), new Date(after), new Date(until), limit));
const local = (expression: string, zone: string, after: string, until: string) =>
  slotsBetween(parseCronSpec(expression, zone), new Date(after), new Date(until)).map((slot) => formatInZone(slot, zone));

function refusal(run: () => unknown): DomainError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    return error as DomainError;
  }
  throw new Error('expected a refusal');
}

describe('DST in Europe/Berlin (2026-03-29 02:00 → 03:00 CEST, 2026-10-25 03:00 → 02:00 CET)', () => {
  test('a fixed-time slot skipped by spring forward fires once, at 03:00 CEST, the first instant after the gap', () => {
    expect(between('30 2 * * *', 'Europe/Berlin', '2026-03-27T12:00:00Z', '2026-03-31T00:00:00Z')).toEqual([
      '2026-03-28T01:30:00Z',
      '2026-03-29T01:00:00Z',
      '2026-03-30T00:30:00Z',
    ]);
    expect(local('30 2 * * *', 'Europe/Berlin', '2026-03-28T12:00:00Z', '2026-03-29T12:00:00Z')).toEqual(['2026-03-29T03:00:00+02:00']);
  });

  test('a fixed-time slot repeated by fall back fires once, at its first occurrence (CEST)', () => {
    expect(between('30 2 * * *', 'Europe/Berlin', '2026-10-23T12:00:00Z', '2026-10-27T00:00:00Z')).toEqual([
      '2026-10-24T00:30:00Z',
      '2026-10-25T00:30:00Z',
      '2026-10-26T01:30:00Z',
    ]);
    // Asked from between the two passes, the second 02:30 is still not a slot.
    expect(between('30 2 * * *', 'Europe/Berlin', '2026-10-25T00:45:00Z', '2026-10-25T23:00:00Z')).toEqual([]);
    expect(local('30 2 * * *', 'Europe/Berlin', '2026-10-24T12:00:00Z', '2026-10-25T12:00:00Z')).toEqual(['2026-10-25T02:30:00+02:00']);
  });

  test('*/15 * * * * follows elapsed time: nothing in the skipped hour, both passes of the repeated one', () => {
    expect(between('*/15 * * * *', 'Europe/Berlin', '2026-03-29T00:30:00Z', '2026-03-29T01:30:00Z')).toEqual([
      '2026-03-29T00:45:00Z',
      '2026-03-29T01:00:00Z',
      '2026-03-29T01:15:00Z',
      '2026-03-29T01:30:00Z',
    ]);
    expect(local('*/15 * * * *', 'Europe/Berlin', '2026-03-29T00:30:00Z', '2026-03-29T01:15:00Z')).toEqual([
      '2026-03-29T01:45:00+01:00',
      '2026-03-29T03:00:00+02:00',
      '2026-03-29T03:15:00+02:00',
    ]);
    expect(between('*/15 * * * *', 'Europe/Berlin', '2026-10-24T23:50:00Z', '2026-10-25T02:10:00Z')).toEqual([
      '2026-10-25T00:00:00Z',
      '2026-10-25T00:15:00Z',
      '2026-10-25T00:30:00Z',
      '2026-10-25T00:45:00Z',
      '2026-10-25T01:00:00Z',
      '2026-10-25T01:15:00Z',
      '2026-10-25T01:30:00Z',
      '2026-10-25T01:45:00Z',
      '2026-10-25T02:00:00Z',
    ]);
    expect(local('*/15 * * * *', 'Europe/Berlin', '2026-10-25T00:40:00Z', '2026-10-25T01:20:00Z')).toEqual([
      '2026-10-25T02:45:00+02:00',
      '2026-10-25T02:00:00+01:00',
      '2026-10-25T02:15:00+01:00',
    ]);
  });

  test('@hourly fires an hour apart across both transitions', () => {
    expect(between('@hourly', 'Europe/Berlin', '2026-03-28T22:30:00Z', '2026-03-29T02:30:00Z')).toEqual([
      '2026-03-28T23:00:00Z',
      '2026-03-29T00:00:00Z',
      '2026-03-29T01:00:00Z',
      '2026-03-29T02:00:00Z',
    ]);
    expect(between('@hourly', 'Europe/Berlin', '2026-10-24T22:30:00Z', '2026-10-25T03:30:00Z')).toEqual([
      '2026-10-24T23:00:00Z',
      '2026-10-25T00:00:00Z',
      '2026-10-25T01:00:00Z',
      '2026-10-25T02:00:00Z',
      '2026-10-25T03:00:00Z',
    ]);
    expect(local('0 * * * *', 'Europe/Berlin', '2026-10-24T23:30:00Z', '2026-10-25T02:30:00Z')).toEqual([
      '2026-10-25T02:00:00+02:00',
      '2026-10-25T02:00:00+01:00',
      '2026-10-25T03:00:00+01:00',
    ]);
  });

  test('several minutes or hours are not a fixed time: 0,30 2 * * * has no slot on the spring-forward day, four on fall back', () => {
    expect(parseCronSpec('0,30 2 * * *').fixedTime).toBe(false);
    expect(parseCronSpec('0 1-3 * * *').fixedTime).toBe(false);
    expect(parseCronSpec('30 2 * * *').fixedTime).toBe(true);
    expect(parseCronSpec('@daily').fixedTime).toBe(true);
    expect(between('0,30 2 * * *', 'Europe/Berlin', '2026-03-28T12:00:00Z', '2026-03-29T12:00:00Z')).toEqual([]);
    expect(between('0,30 2 * * *', 'Europe/Berlin', '2026-10-24T12:00:00Z', '2026-10-25T12:00:00Z')).toEqual([
      '2026-10-25T00:00:00Z',
      '2026-10-25T00:30:00Z',
      '2026-10-25T01:00:00Z',
      '2026-10-25T01:30:00Z',
    ]);
  });
});

describe('DST in America/New_York (2026-03-08 02:00 → 03:00 EDT, 2026-11-01 02:00 → 01:00 EST)', () => {
  test('30 2 * * * fires at 03:00 EDT on the spring-forward day', () => {
    expect(between('30 2 * * *', 'America/New_York', '2026-03-06T12:00:00Z', '2026-03-10T00:00:00Z')).toEqual([
      '2026-03-07T07:30:00Z',
      '2026-03-08T07:00:00Z',
      '2026-03-09T06:30:00Z',
    ]);
    expect(local('30 2 * * *', 'America/New_York', '2026-03-07T12:00:00Z', '2026-03-08T12:00:00Z')).toEqual(['2026-03-08T03:00:00-04:00']);
  });

  test('30 1 * * * fires once on the fall-back day, at 01:30 EDT; 30 2 * * * once, at 02:30 EST', () => {
    expect(between('30 1 * * *', 'America/New_York', '2026-10-30T12:00:00Z', '2026-11-03T00:00:00Z')).toEqual([
      '2026-10-31T05:30:00Z',
      '2026-11-01T05:30:00Z',
      '2026-11-02T06:30:00Z',
    ]);
    expect(between('30 1 * * *', 'America/New_York', '2026-11-01T05:45:00Z', '2026-11-02T00:00:00Z')).toEqual([]);
    expect(local('30 1 * * *', 'America/New_York', '2026-10-31T12:00:00Z', '2026-11-01T12:00:00Z')).toEqual(['2026-11-01T01:30:00-04:00']);
    expect(between('30 2 * * *', 'America/New_York', '2026-10-31T12:00:00Z', '2026-11-01T12:00:00Z')).toEqual(['2026-11-01T07:30:00Z']);
  });

  test('*/15 * * * * and @hourly follow elapsed time', () => {
    expect(between('*/15 * * * *', 'America/New_York', '2026-03-08T06:30:00Z', '2026-03-08T07:30:00Z')).toEqual([
      '2026-03-08T06:45:00Z',
      '2026-03-08T07:00:00Z',
      '2026-03-08T07:15:00Z',
      '2026-03-08T07:30:00Z',
    ]);
    expect(between('*/15 * * * *', 'America/New_York', '2026-11-01T04:50:00Z', '2026-11-01T06:10:00Z')).toEqual([
      '2026-11-01T05:00:00Z',
      '2026-11-01T05:15:00Z',
      '2026-11-01T05:30:00Z',
      '2026-11-01T05:45:00Z',
      '2026-11-01T06:00:00Z',
    ]);
    expect(between('@hourly', 'America/New_York', '2026-03-08T05:30:00Z', '2026-03-08T08:30:00Z')).toEqual([
      '2026-03-08T06:00:00Z',
      '2026-03-08T07:00:00Z',
      '2026-03-08T08:00:00Z',
    ]);
    expect(local('@hourly', 'America/New_York', '2026-11-01T03:30:00Z', '2026-11-01T07:30:00Z')).toEqual([
      '2026-11-01T00:00:00-04:00',
      '2026-11-01T01:00:00-04:00',
      '2026-11-01T01:00:00-05:00',
      '2026-11-01T02:00:00-05:00',
    ]);
  });
});

/** Each DST case: the expression, its zone and a window around the transition. */
const DST_CASES = [
  ['30 2 * * *', 'Europe/Berlin', '2026-03-28T00:00:00Z', '2026-03-30T12:00:00Z'],
  ['30 2 * * *', 'Europe/Berlin', '2026-10-24T00:00:00Z', '2026-10-26T12:00:00Z'],
  ['*/15 * * * *', 'Europe/Berlin', '2026-03-28T22:00:00Z', '2026-03-29T04:00:00Z'],
  ['*/15 * * * *', 'Europe/Berlin', '2026-10-24T22:00:00Z', '2026-10-25T04:00:00Z'],
  ['@hourly', 'Europe/Berlin', '2026-03-28T20:00:00Z', '2026-03-29T06:00:00Z'],
  ['@hourly', 'Europe/Berlin', '2026-10-24T20:00:00Z', '2026-10-25T06:00:00Z'],
  ['30 2 * * *', 'America/New_York', '2026-03-07T00:00:00Z', '2026-03-09T12:00:00Z'],
  ['30 1 * * *', 'America/New_York', '2026-10-31T00:00:00Z', '2026-11-02T12:00:00Z'],
  ['*/15 * * * *', 'America/New_York', '2026-03-08T04:00:00Z', '2026-03-08T10:00:00Z'],
  ['*/15 * * * *', 'America/New_York', '2026-11-01T03:00:00Z', '2026-11-01T09:00:00Z'],
  ['@hourly', 'America/New_York', '2026-03-08T02:00:00Z', '2026-03-08T12:00:00Z'],
  ['@hourly', 'America/New_York', '2026-11-01T02:00:00Z', '2026-11-01T12:00:00Z'],
  ['*/20 * * * * *', 'Europe/Berlin', '2026-10-25T00:30:00Z', '2026-10-25T01:30:00Z'],
] as const;

describe('consecutive windows', () => {
  test.each(DST_CASES)('%s in %s from %s: windows joined give the whole, each slot once', (expression, zone, start, end) => {
    const spec = parseCronSpec(expression, zone);
    const t0 = new Date(start).getTime();
    const t2 = new Date(end).getTime();
    const whole = slotsBetween(spec, new Date(t0), new Date(t2), 100_000).map((slot) => slot.getTime());
    expect(whole.length).toBeGreaterThan(2);
    // Split points: every 7 minutes, on each slot and a millisecond either side of it.
    const splits = new Set<number>();
    for (let t1 = t0; t1 <= t2; t1 += 7 * 60_000) splits.add(t1);
    for (const slot of whole) for (const t1 of [slot - 1, slot, slot + 1]) splits.add(t1);
    for (const t1 of splits) {
      const joined = [
        ...slotsBetween(spec, new Date(t0), new Date(t1), 100_000),
        ...slotsBetween(spec, new Date(t1), new Date(t2), 100_000),
      ].map((slot) => slot.getTime());
      expect(joined).toEqual(whole);
    }
    // A scheduler's passes: windows of 1 to 11 minutes one after the other.
    const passes: number[] = [];
    for (let after = t0, step = 1; after < t2; step = (step % 11) + 1) {
      const until = Math.min(after + step * 60_000 + 137, t2);
      passes.push(...slotsBetween(spec, new Date(after), new Date(until)).map((slot) => slot.getTime()));
      after = until;
    }
    expect(passes).toEqual(whole);
    expect(new Set(whole).size).toBe(whole.length);
    for (let i = 1; i < whole.length; i++) expect(whole[i]!).toBeGreaterThan(whole[i - 1]!);
  });
});

describe('against a minute-by-minute reading of the wall clock', () => {
  const MINUTE = 60_000;
  const wallOf = (zone: string, t: number) => new Date(t + zoneOffsetMs(zone, t));

  /** Elapsed time: every minute whose wall-clock time matches. */
  function readElapsed(zone: string, from: number, to: number, matches: (wall: Date) => boolean): number[] {
    const slots: number[] = [];
    for (let t = from + MINUTE; t <= to; t += MINUTE) if (matches(wallOf(zone, t))) slots.push(t);
    return slots;
  }
  /** A fixed time on each local day: its first instant, else the first instant whose wall clock is past it. */
  function readFixed(zone: string, from: number, to: number, hour: number, minute: number): number[] {
    const slots: number[] = [];
    for (let day = Math.floor(from / 86_400_000) - 1; day <= Math.floor(to / 86_400_000) + 1; day++) {
      const wall = day * 86_400_000 + hour * 3_600_000 + minute * MINUTE;
      let slot: number | undefined;
      for (let t = wall - 16 * 3_600_000; t <= wall + 16 * 3_600_000 && slot === undefined; t += MINUTE) {
        if (wallOf(zone, t).getTime() === wall) slot = t;
      }
      for (let t = wall - 16 * 3_600_000; slot === undefined; t += MINUTE) if (wallOf(zone, t).getTime() > wall) slot = t;
      if (slot > from && slot <= to && !slots.includes(slot)) slots.push(slot);
    }
    return slots;
  }

  // Zones whose clocks change at midnight, by half an hour, or skip a whole day.
  const WINDOWS = [
    ['Europe/Berlin', '2026-03-28T12:00:00Z', '2026-03-30T00:00:00Z'],
    ['Europe/Berlin', '2026-10-24T12:00:00Z', '2026-10-26T00:00:00Z'],
    ['America/Santiago', '2026-04-04T12:00:00Z', '2026-04-06T00:00:00Z'],
    ['America/Santiago', '2026-09-05T12:00:00Z', '2026-09-07T00:00:00Z'],
    ['Australia/Lord_Howe', '2026-04-04T00:00:00Z', '2026-04-05T12:00:00Z'],
    ['Australia/Lord_Howe', '2026-10-03T00:00:00Z', '2026-10-04T12:00:00Z'],
    ['Pacific/Apia', '2011-12-28T12:00:00Z', '2011-12-31T12:00:00Z'],
  ] as const;

  test.each(WINDOWS)('%s from %s', (zone, start, end) => {
    const from = new Date(start).getTime();
    const to = new Date(end).getTime();
    const slots = (expression: string) =>
      slotsBetween(parseCronSpec(expression, zone), new Date(from), new Date(to), 100_000).map((slot) => slot.getTime());
    expect(slots('*/15 * * * *')).toEqual(readElapsed(zone, from, to, (wall) => wall.getUTCMinutes() % 15 === 0));
    expect(slots('0,30 * * * *')).toEqual(readElapsed(zone, from, to, (wall) => wall.getUTCMinutes() % 30 === 0));
    expect(slots('*/10 0-2 * * *')).toEqual(readElapsed(zone, from, to, (wall) => wall.getUTCHours() <= 2 && wall.getUTCMinutes() % 10 === 0));
    for (const [hour, minute] of [[0, 0], [0, 15], [1, 45], [2, 0], [2, 15], [23, 30]] as const) {
      expect(slots(`${minute} ${hour} * * *`)).toEqual(readFixed(zone, from, to, hour, minute));
    }
  });
});

describe('slots', () => {
  test('no zone means UTC', () => {
    const spec = parseCronSpec('0 12 * * *');
    expect(spec.timezone).toBe('UTC');
    expect(iso(nextSlots(spec, new Date('2026-03-29T12:00:00Z'), 2))).toEqual(['2026-03-30T12:00:00Z', '2026-03-31T12:00:00Z']);
  });

  test('a seconds field: six fields, the first is seconds', () => {
    expect(between('*/20 * * * * *', 'UTC', '2026-01-01T00:00:00Z', '2026-01-01T00:01:00Z')).toEqual([
      '2026-01-01T00:00:20Z',
      '2026-01-01T00:00:40Z',
      '2026-01-01T00:01:00Z',
    ]);
    expect(between('5 30 2 * * *', 'Europe/Berlin', '2026-03-28T12:00:00Z', '2026-03-29T12:00:00Z')).toEqual(['2026-03-29T01:00:00Z']);
    expect(parseCronSpec('5 30 2 * * *').fixedTime).toBe(true);
    expect(parseCronSpec('* 30 2 * * *').fixedTime).toBe(false);
  });

  test('every second of a day is 86,400 slots, and 82,800 or 90,000 on the days Berlin changes its clocks', () => {
    const spec = parseCronSpec('* * * * * *', 'Europe/Berlin');
    const day = (start: string, end: string) => slotsBetween(spec, new Date(start), new Date(end), 200_000);
    const plain = day('2026-03-27T23:00:00Z', '2026-03-28T23:00:00Z');
    expect(plain).toHaveLength(86_400);
    expect(iso([plain[0]!, plain.at(-1)!])).toEqual(['2026-03-27T23:00:01Z', '2026-03-28T23:00:00Z']);
    expect(plain.every((slot, i) => i === 0 || slot.getTime() - plain[i - 1]!.getTime() === 1000)).toBe(true);
    expect(day('2026-03-28T23:00:00Z', '2026-03-29T22:00:00Z')).toHaveLength(82_800);
    expect(day('2026-10-24T22:00:00Z', '2026-10-25T23:00:00Z')).toHaveLength(90_000);
  });

  test('macros', () => {
    const next = (macro: string, count = 2) => iso(nextSlots(parseCronSpec(macro), new Date('2026-05-13T10:20:00Z'), count));
    expect(next('@yearly')).toEqual(['2027-01-01T00:00:00Z', '2028-01-01T00:00:00Z']);
    expect(next('@annually')).toEqual(next('@yearly'));
    expect(next('@monthly')).toEqual(['2026-06-01T00:00:00Z', '2026-07-01T00:00:00Z']);
    expect(next('@weekly')).toEqual(['2026-05-17T00:00:00Z', '2026-05-24T00:00:00Z']);
    expect(next('@daily')).toEqual(['2026-05-14T00:00:00Z', '2026-05-15T00:00:00Z']);
    expect(next('@midnight')).toEqual(next('@daily'));
    expect(next('@hourly', 3)).toEqual(['2026-05-13T11:00:00Z', '2026-05-13T12:00:00Z', '2026-05-13T13:00:00Z']);
    expect(parseCronSpec(' @Daily ').expression).toBe('@daily');
    expect(parseCronSpec('*/5   *  * * *').expression).toBe('*/5 * * * *');
  });

  test('day fields as crontab(5): either of two restricted day fields, both when one starts with *', () => {
    const days = (expression: string) =>
      slotsBetween(parseCronSpec(expression), new Date('2026-02-28T12:00:00Z'), new Date('2026-03-31T12:00:00Z')).map((slot) =>
        slot.getUTCDate(),
      );
    // March 2026 starts on a Sunday.
    expect(days('0 0 1-7 * 1')).toEqual([1, 2, 3, 4, 5, 6, 7, 9, 16, 23, 30]);
    expect(days('0 0 */2 * 1')).toEqual([9, 23]);
    expect(days('0 0 L * *')).toEqual([31]);
    expect(iso(nextSlots(parseCronSpec('0 0 L * *'), new Date('2028-01-31T00:00:00Z'), 2))).toEqual(['2028-02-29T00:00:00Z', '2028-03-31T00:00:00Z']);
    expect(days('0 0 * * 5L')).toEqual([27]);
    expect(days('0 0 * * MON#2')).toEqual([9]);
    expect(days('0 0 * MAR 7')).toEqual([1, 8, 15, 22, 29]);
    expect(days('0 0 * mar sun')).toEqual([1, 8, 15, 22, 29]);
    // Every 28 years or so: the fifth Monday of a February.
    expect(iso(nextSlots(parseCronSpec('0 0 * 2 1#5'), new Date('2000-01-01T00:00:00Z'), 2))).toEqual([
      '2016-02-29T00:00:00Z',
      '2044-02-29T00:00:00Z',
    ]);
  });

  test('bounds: after is excluded, until included, at most limit (1000 unless given), nextSlots takes count', () => {
    const spec = parseCronSpec('*/5 * * * *');
    const at = (time: string) => new Date(`2026-01-01T${time}Z`);
    expect(iso(slotsBetween(spec, at('00:05:00'), at('00:15:00')))).toEqual(['2026-01-01T00:10:00Z', '2026-01-01T00:15:00Z']);
    expect(iso(slotsBetween(spec, at('00:04:59.999'), at('00:14:59.999')))).toEqual(['2026-01-01T00:05:00Z', '2026-01-01T00:10:00Z']);
    expect(iso(slotsBetween(spec, at('00:05:00'), at('01:00:00'), 3))).toEqual([
      '2026-01-01T00:10:00Z',
      '2026-01-01T00:15:00Z',
      '2026-01-01T00:20:00Z',
    ]);
    expect(slotsBetween(spec, at('00:00:00'), new Date('2026-02-01T00:00:00Z'))).toHaveLength(1000);
    expect(slotsBetween(spec, at('00:15:00'), at('00:05:00'))).toEqual([]);
    expect(slotsBetween(spec, at('00:05:00'), at('00:05:00'))).toEqual([]);
    expect(slotsBetween(spec, at('00:05:00'), at('00:15:00'), 0)).toEqual([]);
    expect(iso(nextSlots(spec, at('00:05:00'), 2))).toEqual(['2026-01-01T00:10:00Z', '2026-01-01T00:15:00Z']);
    expect(nextSlots(spec, at('00:05:00'), 0)).toEqual([]);
    const fixed = parseCronSpec('30 2 * * *', 'Europe/Berlin');
    expect(iso(slotsBetween(fixed, new Date('2026-03-29T01:00:00Z'), new Date('2026-03-30T00:30:00Z')))).toEqual(['2026-03-30T00:30:00Z']);
    expect(iso(slotsBetween(fixed, new Date('2026-03-29T00:59:59.999Z'), new Date('2026-03-29T01:00:00Z')))).toEqual([
      '2026-03-29T01:00:00Z',
    ]);
    expect(() => slotsBetween(spec, new Date('nonsense'), at('00:05:00'))).toThrow(RangeError);
  });

  test('formatInZone writes the local time with its offset', () => {
    expect(formatInZone(new Date('2026-03-29T01:00:00Z'), 'Europe/Berlin')).toBe('2026-03-29T03:00:00+02:00');
    expect(formatInZone(new Date('2026-03-29T00:59:59Z'), 'Europe/Berlin')).toBe('2026-03-29T01:59:59+01:00');
    expect(formatInZone(new Date('2026-11-01T06:30:00Z'), 'America/New_York')).toBe('2026-11-01T01:30:00-05:00');
    expect(formatInZone(new Date('2026-01-01T00:00:00.250Z'), 'UTC')).toBe('2026-01-01T00:00:00.250+00:00');
    expect(formatInZone(new Date('2026-01-01T00:00:00Z'), 'Asia/Kolkata')).toBe('2026-01-01T05:30:00+05:30');
    expect(refusal(() => formatInZone(new Date(), 'Mars/Base')).field).toBe('timezone');
  });
});

describe('refusals: one line naming the field', () => {
  const FORMS =
    '(5 fields: minute hour day-of-month month day-of-week, an optional leading seconds field, or a macro such as @hourly, @daily)';
  test.each([
    ['61 * * * *', 'minute must be 0-59'],
    ['* 24 * * *', 'hour must be 0-23'],
    ['0 0 0 * *', 'day-of-month must be 1-31 or L'],
    ['0 0 * 13 *', 'month must be 1-12 or JAN-DEC'],
    ['0 0 * * 8', 'day-of-week must be 0-7 or SUN-SAT'],
    ['0 0 * * 1#6', 'day-of-week must be 0-7 or SUN-SAT'],
    ['60 * * * * *', 'second must be 0-59'],
    ['abc * * * *', 'minute must be 0-59'],
    ['1.5 * * * *', 'minute must be 0-59'],
    ['*/0 * * * *', 'minute steps must be 1 or more'],
    ['0 5-1 * * *', 'hour range 5-1 runs backwards'],
    ['1,1 * * * *', 'minute lists a value twice'],
    ['0 0 * * SUN,7', 'day-of-week lists a value twice'],
    ['H * * * *', 'minute: H (a random value) is not supported'],
    ['* * * *', 'it has 4 fields'],
    ['* * * * * * *', 'it has 7 fields'],
    ['', 'it is empty'],
    ['   ', 'it is empty'],
    ['0 0 30 2 *', 'it never fires'],
    ['0 0 31 4,6 *', 'it never fires'],
    ['@every 5m', '@every intervals are not supported'],
    ['@reboot', '@reboot is not supported'],
    ['@minutely', 'the macros are @yearly, @annually, @monthly, @weekly, @daily, @midnight and @hourly'],
  ])('%j: %s', (expression, reason) => {
    const error = refusal(() => parseCronSpec(expression, 'Europe/Berlin'));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.field).toBe('cron');
    expect(error.message).toContain(`cron: ${JSON.stringify(expression.trim())} is not a valid cron expression: ${reason}`);
    expect(error.message.endsWith(FORMS)).toBe(true);
    expect(error.message).not.toContain('\n');
  });

  test('the exact line for an out-of-range minute', () => {
    expect(refusal(() => parseCronSpec('61 * * * *')).message).toBe(`cron: "61 * * * *" is not a valid cron expression: minute must be 0-59 ${FORMS}`);
  });

  test('long or hostile input: at most 200 characters, never more than 100 echoed, on one line', () => {
    const long = `0 0 * * * ${'1,'.repeat(150)}`;
    const error = refusal(() => parseCronSpec(long));
    expect(error.message).toContain('characters long; at most 200 are allowed');
    expect(error.message).toContain(JSON.stringify(`${long.slice(0, 100)}…`));
    expect(error.message).not.toContain(long.slice(0, 101));
    const control = refusal(() => parseCronSpec('0 0 * * *\n\u0000rm -rf /'));
    expect(control.message).not.toContain('\n');
    expect(control.message).not.toContain('\u0000');
  });

  test('an unknown zone is refused naming timezone; names are spelled as the zone database does', () => {
    for (const zone of ['Mars/Base', '+02:00', '', 'Europe/Berlin; DROP TABLE', 'x'.repeat(300)]) {
      const error = refusal(() => parseCronSpec('* * * * *', zone));
      expect(error.field).toBe('timezone');
      expect(error.code).toBe('VALIDATION_FAILED');
      expect(error.message).not.toContain('x'.repeat(101));
    }
    expect(refusal(() => parseCronSpec('* * * * *', 'Mars/Base')).message).toBe(
      'timezone: unknown time zone "Mars/Base"; use an IANA name such as UTC, Europe/Berlin or America/New_York',
    );
    expect(parseCronSpec('* * * * *', 'europe/berlin').timezone).toBe('Europe/Berlin');
    expect(parseCronSpec('* * * * *', 'utc').timezone).toBe('UTC');
    expect(parseCronSpec('* * * * *', 'Asia/Kolkata').timezone).toBe('Asia/Kolkata');
    // Both wrong: the expression is named first.
    expect(refusal(() => parseCronSpec('61 * * * *', 'Mars/Base')).field).toBe('cron');
  });
});
