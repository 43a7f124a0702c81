import { describe, expect, it } from 'vitest';
import { DockerLogReader } from './log-reader.js';
import { toSinceParam } from './timestamps.js';

/** One message of Docker's multiplexed stream: 8-byte header, then `TIMESTAMP text`. */
function frame(stream: 1 | 2, ts: string, text: string): Buffer {
  const payload = Buffer.from(`${ts} ${text}`);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

const T1 = '2024-05-01T10:00:00.000000001Z';
const T2 = '2024-05-01T10:00:00.000000002Z';

describe('DockerLogReader', () => {
  it('reads lines of both streams, across chunk boundaries', () => {
    const reader = new DockerLogReader(null);
    const all = Buffer.concat([frame(1, T1, 'one\n'), frame(2, T1, 'two\n'), frame(1, T2, 'three\n')]);
    const a = reader.push(all.subarray(0, 13));
    const b = reader.push(all.subarray(13));
    expect([...a.lines, ...b.lines].map((l) => [l.stream, l.text])).toEqual([
      ['stdout', 'one'],
      ['stderr', 'two'],
      ['stdout', 'three'],
    ]);
    expect(b.cursor).toEqual({ ts: T2, n: 1 });
  });

  it('resumes after the lines consumed at the cursor timestamp, not before nor after', () => {
    const first = new DockerLogReader(null);
    const { cursor } = first.push(Buffer.concat([frame(1, T1, 'a\n'), frame(1, T1, 'b\n')]));
    expect(cursor).toEqual({ ts: T1, n: 2 });
    // `since` returns everything at or after T1 again.
    const resumed = new DockerLogReader(cursor);
    const out = resumed.push(Buffer.concat([frame(1, T1, 'a\n'), frame(1, T1, 'b\n'), frame(1, T1, 'c\n'), frame(1, T2, 'd\n')]));
    expect(out.lines.map((l) => l.text)).toEqual(['c', 'd']);
  });

  it('joins Docker partial messages and keeps an unfinished line in the cursor', () => {
    const reader = new DockerLogReader(null);
    const a = reader.push(frame(1, T1, 'hel'));
    expect(a.lines).toEqual([]);
    const resumed = new DockerLogReader(a.cursor);
    expect(resumed.push(frame(1, T2, 'lo\n')).lines.map((l) => l.text)).toEqual(['hello']);
  });

  it('formats `since` with nanoseconds', () => {
    expect(toSinceParam(T2)).toBe('1714557600.000000002');
    expect(toSinceParam('2024-05-01T12:00:00.5+02:00')).toBe('1714557600.500000000');
  });
});
