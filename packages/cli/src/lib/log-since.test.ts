import { describe, expect, it } from 'vitest';
import { UsageError } from './errors.js';
import { parseSince } from './log-since.js';

describe('parseSince', () => {
  const now = Date.parse('2026-11-30T17:00:00.000Z');

  it('takes a duration ago or a timestamp with its zone', () => {
    expect(parseSince('10m', '--since', now)).toBe('2026-11-30T16:50:00.000Z');
    expect(parseSince('2h', '--since', now)).toBe('2026-11-30T15:00:00.000Z');
    expect(parseSince('2026-11-30T18:00:00+01:00', '--since', now)).toBe('2026-11-30T18:00:00+01:00');
  });

  it.each(['yesterday', '10', '2026-11-30', '-5m'])('refuses %s with a line naming --since', (text) => {
    expect(() => parseSince(text, '--since', now)).toThrow(UsageError);
    expect(() => parseSince(text, '--since', now)).toThrow(/^Bad value ".*" for --since: must be a duration such as 30s, 10m or 2h, or a timestamp/);
  });
});
