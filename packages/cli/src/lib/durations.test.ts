import { describe, expect, it } from 'vitest';
import { parseDurationSeconds } from './durations.js';

describe('parseDurationSeconds', () => {
  it.each([
    ['90s', 90],
    ['30m', 1800],
    ['24h', 86400],
    ['1.5h', 5400],
    ['7d', 604800],
  ])('%s is %i seconds', (text, seconds) => {
    expect(parseDurationSeconds(text, 'expires')).toBe(seconds);
  });

  it.each(['24', 'h', '1w', '-1h', '24 hours'])('refuses %j, naming the key', (text) => {
    expect(() => parseDurationSeconds(text, 'expires')).toThrow(`Bad value "${text}" for expires: must be a duration such as 30m, 24h or 7d`);
  });
});
