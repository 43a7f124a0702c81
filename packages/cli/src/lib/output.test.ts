import { describe, expect, it } from 'vitest';
import { details, formatBytes, formatDuration, formatNumber, formatTimestamp, shellJoin, table, truncate } from './output.js';

describe('output helpers', () => {
  it('aligns table columns and does not pad the last one', () => {
    expect(table(['ID', 'STATUS'], [['abc', 'RUNNING'], ['abcdef', 'STOPPED']])).toBe('ID      STATUS\nabc     RUNNING\nabcdef  STOPPED');
  });

  it('formats durations by size', () => {
    expect(formatDuration(null)).toBe('-');
    expect(formatDuration(420)).toBe('0.4s');
    expect(formatDuration(12_900)).toBe('12s');
    expect(formatDuration(185_000)).toBe('3m 05s');
    expect(formatDuration(2 * 3600_000 + 7 * 60_000 + 59_000)).toBe('2h 07m');
  });

  it('formats bytes in binary units', () => {
    expect(formatBytes(null)).toBe('-');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(12 * 1024 * 1024)).toBe('12.0 MiB');
    expect(formatBytes(1.5 * 1024 ** 3)).toBe('1.50 GiB');
  });

  it('formats timestamps in UTC like log lines', () => {
    expect(formatTimestamp('2021-03-17T09:58:34.123Z')).toBe('2021-03-17 09:58:34');
    expect(formatTimestamp(null)).toBe('-');
  });

  it('drops float noise from numbers', () => {
    expect(formatNumber(0.1 + 0.2)).toBe('0.3');
    expect(formatNumber(0.25)).toBe('0.25');
    expect(formatNumber(100 / 1024)).toBe('0.09766');
  });

  it('quotes arguments a shell would split', () => {
    expect(shellJoin(['echo', 'Hello World', "it's"])).toBe(`echo 'Hello World' 'it'\\''s'`);
    expect(shellJoin(['ls', '-la', '/tmp'])).toBe('ls -la /tmp');
  });

  it('truncates to one line of at most max characters', () => {
    expect(truncate('short', 10)).toBe('short');
    expect(truncate('a\nb', 10)).toBe('a b');
    expect(truncate('0123456789abc', 10)).toBe('012345678…');
  });

  it('aligns detail values', () => {
    expect(details([['ID', 'x'], ['Status', 'RUNNING']])).toBe('ID:      x\nStatus:  RUNNING');
  });

  it('indents the further lines of a value, so none passes for a line of its own', () => {
    expect(details([['Command', 'set -e\nStatus: STOPPED'], ['Status', 'RUNNING']])).toBe('Command:  set -e\n          Status: STOPPED\nStatus:   RUNNING');
  });
});
