import { describe, expect, it } from 'vitest';
import { asDockerCursor, DockerLogReader, sinceParam } from './log-reader.js';
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
const T3 = '2024-05-01T10:00:00.000000003Z';

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
    expect(b.cursor).toEqual({ stdout: { ts: T2, n: 1 }, stderr: { ts: T1, n: 1 } });
  });

  it('resumes after the lines consumed at the cursor timestamp, not before nor after', () => {
    const first = new DockerLogReader(null);
    const { cursor } = first.push(Buffer.concat([frame(1, T1, 'a\n'), frame(1, T1, 'b\n')]));
    expect(cursor).toEqual({ stdout: { ts: T1, n: 2 } });
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

  it('once the output is complete, gives a last line without a line break as a line of its own, on each stream', () => {
    const reader = new DockerLogReader(null);
    const out = reader.push(Buffer.concat([frame(1, T1, 'a\n'), frame(1, T2, 'b'), frame(2, T3, 'c')]));
    expect(out.lines.map((l) => l.text)).toEqual(['a']);
    const end = reader.finish();
    expect(end.lines.map((l) => [l.stream, l.text, l.at])).toEqual([
      ['stdout', 'b', '2024-05-01T10:00:00.000Z'],
      ['stderr', 'c', '2024-05-01T10:00:00.000Z'],
    ]);
    // Read again from there (an agent restarted at the end): nothing more, nothing twice.
    expect(end.cursor).toEqual({ stdout: { ts: T2, n: 1 }, stderr: { ts: T3, n: 1 } });
    const again = new DockerLogReader(end.cursor);
    expect(again.push(Buffer.concat([frame(1, T1, 'a\n'), frame(1, T2, 'b'), frame(2, T3, 'c')])).lines).toEqual([]);
    expect(again.finish().lines).toEqual([]);
    // A line cut short that was saved in the cursor, read on after a restart with nothing new.
    const saved = new DockerLogReader({ stdout: { ts: T2, n: 1 }, partial: { stdout: Buffer.from('half').toString('base64') } });
    expect(saved.finish().lines.map((l) => l.text)).toEqual(['half']);
  });

  // Docker stamps each stream in its own copier, then writes through one lock: a stderr line
  // stamped before the last stdout line can land after it in the file (the last line of
  // `echo a; echo b >&2; exit 3` went missing this way).
  it('keeps a line of one stream written after a later-stamped line of the other', () => {
    const reader = new DockerLogReader(null);
    const out = reader.push(Buffer.concat([frame(1, T2, 'hello\n'), frame(2, T1, 'to-stderr\n')]));
    expect(out.lines.map((l) => [l.stream, l.text])).toEqual([
      ['stdout', 'hello'],
      ['stderr', 'to-stderr'],
    ]);
  });

  it('resumes each stream from its own cursor', () => {
    const first = new DockerLogReader(null);
    const { cursor } = first.push(frame(1, T2, 'hello\n'));
    expect(cursor).toEqual({ stdout: { ts: T2, n: 1 } });
    // The final read returns, in file order, the stdout line again and the stderr line stamped
    // before it but written after it.
    const resumed = new DockerLogReader(cursor);
    const out = resumed.push(Buffer.concat([frame(1, T2, 'hello\n'), frame(2, T1, 'to-stderr\n'), frame(1, T3, 'bye\n')]));
    expect(out.lines.map((l) => l.text)).toEqual(['to-stderr', 'bye']);
    expect(out.cursor).toEqual({ stdout: { ts: T3, n: 1 }, stderr: { ts: T1, n: 1 } });
    // And once both streams have cursors, each skips only what it consumed.
    const again = new DockerLogReader(out.cursor);
    const more = again.push(Buffer.concat([frame(2, T1, 'to-stderr\n'), frame(1, T3, 'bye\n'), frame(2, T2, 'late\n')]));
    expect(more.lines.map((l) => l.text)).toEqual(['late']);
  });

  it('asks for `since` the earliest point either stream can still have unread lines', () => {
    expect(sinceParam(null)).toBeUndefined();
    expect(sinceParam({ stdout: { ts: T3, n: 1 }, stderr: { ts: T1, n: 1 } })).toBe('1714557600.000000001');
    // stderr has written nothing yet: it may still write a line stamped up to 5 s before stdout's.
    expect(sinceParam({ stdout: { ts: '2024-05-01T10:00:07.25Z', n: 1 } })).toBe('1714557602.250000000');
    // stderr wrote once, three days ago: what it has not written yet comes after stdout's last line
    // (less the skew), so the whole log is not read again.
    expect(sinceParam({ stdout: { ts: '2024-05-04T10:00:07.25Z', n: 1 }, stderr: { ts: T1, n: 1 } })).toBe('1714816802.250000000');
  });

  it('reads the single cursor saved by earlier agents as the cursor of both streams', () => {
    expect(asDockerCursor({ ts: T1, n: 2 })).toEqual({ stdout: { ts: T1, n: 2 }, stderr: { ts: T1, n: 2 } });
    const resumed = new DockerLogReader(asDockerCursor({ ts: T1, n: 1 }));
    expect(resumed.push(Buffer.concat([frame(1, T1, 'a\n'), frame(1, T2, 'b\n')])).lines.map((l) => l.text)).toEqual(['b']);
  });

  it('gathers lines of one stream and one millisecond in a run, each followed by \\n', () => {
    const reader = new DockerLogReader(null, 1000);
    const ms = (n: number) => `2024-05-01T10:00:00.${String(n).padStart(3, '0')}123Z`;
    const out = reader.push(Buffer.concat([frame(1, ms(1), 'a\n'), frame(1, ms(1), 'b\r\n'), frame(2, ms(1), 'e\n'), frame(1, ms(1), 'c\n'), frame(1, ms(2), '\n'), frame(1, '2024-05-01T10:00:00Z', 'd\n')]));
    expect(out.runs).toEqual([
      { stream: 'stdout', at: '2024-05-01T10:00:01.001Z', lines: 2, text: 'a\nb\n' },
      { stream: 'stderr', at: '2024-05-01T10:00:01.001Z', lines: 1, text: 'e\n' },
      { stream: 'stdout', at: '2024-05-01T10:00:01.001Z', lines: 1, text: 'c\n' },
      { stream: 'stdout', at: '2024-05-01T10:00:01.002Z', lines: 1, text: '\n' },
    ]);
    // A timestamp before the stream's cursor was consumed already (only a resumed read sends it).
    expect(out.cursor).toEqual({ stdout: { ts: ms(2), n: 1 }, stderr: { ts: ms(1), n: 1 } });
  });

  it('cuts a line longer than 64 KiB into pieces of at most 64 KiB, never inside a character', () => {
    const reader = new DockerLogReader(null);
    const line = '€'.repeat(30000); // 90,000 bytes, sent as Docker does: 16 KiB messages, cut inside characters
    const bytes = Buffer.from(`${line}\n`);
    const pieces = [];
    for (let at = 0; at < bytes.length; at += 16 * 1024) {
      const payload = Buffer.concat([Buffer.from(`${T1} `), bytes.subarray(at, at + 16 * 1024)]);
      const header = Buffer.alloc(8);
      header[0] = 1;
      header.writeUInt32BE(payload.length, 4);
      pieces.push(...reader.push(Buffer.concat([header, payload])).lines.map((l) => l.text));
    }
    expect(pieces.join('')).toBe(line);
    expect(pieces.length).toBe(2);
    expect(pieces.every((p) => Buffer.byteLength(p) <= 64 * 1024 && !p.includes('\uFFFD'))).toBe(true);
  });

  it('adds no empty line when a long line ends right where a 64 KiB piece did', () => {
    const reader = new DockerLogReader(null);
    const piece = 'x'.repeat(16 * 1024);
    const texts = [];
    for (let i = 0; i < 4; i++) texts.push(...reader.push(frame(1, T1, piece)).lines.map((l) => l.text));
    texts.push(...reader.push(Buffer.concat([frame(1, T2, '\n'), frame(1, T3, '\n')])).lines.map((l) => l.text));
    expect(texts).toEqual([piece.repeat(4), '']); // the line, then the empty line printed after it
  });

  it('formats `since` with nanoseconds', () => {
    expect(toSinceParam(T2)).toBe('1714557600.000000002');
    expect(toSinceParam('2024-05-01T12:00:00.5+02:00')).toBe('1714557600.500000000');
  });
});
