import { describe, expect, it } from 'vitest';
import { logPage, stdoutLine, systemLine } from '../testing/examples.js';
import { overTheWire, rejectedFields, without } from '../testing/wire.js';
import { filterChunk, LogChunkQuery, LogFollowEvent, LogLine, LogPage, LogQuery, formatLogLine, linesOfChunk, type LogChunk } from './logs.js';
import { logChunk } from '../testing/examples.js';

describe('LogLine and LogPage', () => {
  it('cross the wire unchanged', () => {
    expect(overTheWire(LogLine, stdoutLine)).toStrictEqual(stdoutLine);
    expect(overTheWire(LogPage, logPage)).toStrictEqual(logPage);
  });

  it.each([
    ['position', LogLine, { ...stdoutLine, position: 0 }],
    ['stream', LogLine, { ...stdoutLine, stream: 'app' }],
    ['text', LogLine, without(stdoutLine, 'text')],
    ['at', LogLine, { ...stdoutLine, at: null }],
    ['lines.1.position', LogPage, { ...logPage, lines: [stdoutLine, { ...systemLine, position: -8 }] }],
    ['last', LogPage, { ...logPage, last: -1 }],
    ['complete', LogPage, without(logPage, 'complete')],
  ])('%s is to blame (case %#)', (field, schema, value) => {
    expect(rejectedFields(schema, value)).toEqual([field]);
  });
});

describe('LogFollowEvent', () => {
  it.each([
    { type: 'line', line: stdoutLine },
    { type: 'status', status: 'RUNNING' },
    { type: 'end', status: 'STOPPED', exitCode: 137 },
  ] as const)('$type crosses the wire unchanged', (event) => {
    expect(overTheWire(LogFollowEvent, event)).toStrictEqual(event);
  });

  it.each([
    ['type', { type: 'lines', line: stdoutLine }],
    ['type', { line: stdoutLine }],
    ['line.text', { type: 'line', line: { ...stdoutLine, text: 1 } }],
    ['status', { type: 'status', status: 'FINISHED' }],
    ['exitCode', { type: 'end', status: 'STOPPED' }],
  ])('is refused with %s to blame', (field, event) => {
    expect(rejectedFields(LogFollowEvent, event)).toEqual([field]);
  });
});

describe('LogQuery', () => {
  it('reads URL query values and pages from the start, 1000 lines at a time', () => {
    expect(LogQuery.parse({})).toStrictEqual({ after: 0, limit: 1000 });
    expect(LogQuery.parse({ after: '42', limit: '10' })).toStrictEqual({ after: 42, limit: 10 });
  });

  it.each([
    ['after', { after: '-1' }],
    ['after', { after: 'x' }],
    ['limit', { limit: '0' }],
    ['limit', { limit: '10001' }],
    ['follow', { follow: '1' }],
  ])('is refused with %s to blame', (field, query) => {
    expect(rejectedFields(LogQuery, query)).toEqual([field]);
  });
});

describe('LogChunkQuery', () => {
  it('takes a stream and a time to filter by', () => {
    expect(LogChunkQuery.parse({ stream: 'stderr', since: '2026-11-30T17:00:00Z', tail: '5' })).toStrictEqual({ after: 0, tail: 5, stream: 'stderr', since: '2026-11-30T17:00:00Z' });
  });

  it.each([
    ['stream', { stream: 'app' }],
    ['since', { since: '10m' }],
    ['since', { since: '2026-11-30' }],
    ['limit', { limit: '10' }],
  ])('is refused with %s to blame', (field, query) => {
    expect(rejectedFields(LogChunkQuery, query)).toEqual([field]);
  });
});

describe('filterChunk', () => {
  const run = (stream: 'stdout' | 'stderr' | 'system', at: string, texts: string[]) => ({ stream, at, lines: texts.length, text: texts.map((t) => `${t}\n`).join('') });
  const chunk = {
    first: 10,
    runs: [run('stdout', '2026-11-30T17:00:00.000Z', ['a', 'b']), run('stderr', '2026-11-30T17:00:01.000Z', ['c']), run('stdout', '2026-11-30T17:00:02.000Z', ['d']), run('system', '2026-11-30T17:00:03.000Z', ['e'])],
  };
  const shown = (chunks: LogChunk[]) => chunks.flatMap(linesOfChunk).map((line) => `${line.position}:${line.text}`);

  it('keeps every line without a filter, and the chunk as it is', () => {
    expect(filterChunk(chunk, {})).toEqual([chunk]);
  });

  it('keeps the lines of one stream, each at its own position', () => {
    expect(shown(filterChunk(chunk, { stream: 'stdout' }))).toEqual(['10:a', '11:b', '13:d']);
    expect(filterChunk(chunk, { stream: 'stdout' }).map((c) => c.first)).toEqual([10, 13]);
    expect(shown(filterChunk(chunk, { stream: 'system' }))).toEqual(['14:e']);
  });

  it('keeps the lines stamped at or after a time, in any zone', () => {
    expect(shown(filterChunk(chunk, { since: '2026-11-30T18:00:01+01:00' }))).toEqual(['12:c', '13:d', '14:e']);
    expect(filterChunk(chunk, { since: '2026-11-30T17:00:04Z' })).toEqual([]);
    expect(shown(filterChunk(chunk, { since: '2026-11-30T17:00:01Z', stream: 'stdout' }))).toEqual(['13:d']);
  });
});

describe('formatLogLine', () => {
  it('shows stdout and stderr as [app] and lifecycle lines as [system]', () => {
    const at = '2021-03-17T09:58:34Z';
    expect(formatLogLine({ stream: 'stdout', text: 'Migrating', at })).toBe('2021-03-17 09:58:34 [app] Migrating');
    expect(formatLogLine({ stream: 'stderr', text: 'warning', at })).toBe('2021-03-17 09:58:34 [app] warning');
    expect(formatLogLine({ stream: 'system', text: 'Task status is PENDING, desired status is RUNNING', at })).toBe(
      '2021-03-17 09:58:34 [system] Task status is PENDING, desired status is RUNNING',
    );
  });

  it('drops fractions of a second without rounding up', () => {
    expect(formatLogLine({ stream: 'stdout', text: 'x', at: '2021-03-17T09:58:34.999999Z' })).toBe('2021-03-17 09:58:34 [app] x');
  });

  it('shows the time in UTC even when the timestamp carries an offset', () => {
    expect(formatLogLine({ stream: 'stdout', text: 'x', at: '2021-03-17T10:58:34+01:00' })).toBe('2021-03-17 09:58:34 [app] x');
    expect(formatLogLine({ stream: 'stdout', text: 'x', at: '2021-03-17T00:30:00.5-05:30' })).toBe('2021-03-17 06:00:00 [app] x');
  });

  it('keeps the text as it is, empty or with spaces', () => {
    expect(formatLogLine({ stream: 'stdout', text: '', at: '2021-03-17T09:58:34Z' })).toBe('2021-03-17 09:58:34 [app] ');
    expect(formatLogLine({ stream: 'stdout', text: '  indented', at: '2021-03-17T09:58:34Z' })).toBe('2021-03-17 09:58:34 [app]   indented');
  });
});

describe('linesOfChunk', () => {
  it('numbers a chunk\'s lines from its first position, a line with a line break of its own whole', () => {
    expect(linesOfChunk(logChunk).map((l) => [l.position, l.stream, l.text])).toEqual([
      [7, 'stdout', '1'],
      [8, 'stdout', '2'],
      [9, 'stdout', '3'],
      [10, 'stderr', 'ünïcödé, "quotes" and \\ survive'],
      [11, 'system', 'Task stopped: FAILED_TO_START - first\nsecond'],
    ]);
  });
});
