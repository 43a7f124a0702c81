import { formatLogLine, linesOfChunk, type LogChunk } from '@tapit/protocol';
import { describe, expect, it } from 'vitest';
import { escapeControlCharacters } from './control-characters.js';
import { chunkAfter, formatChunks, lastPosition } from './log-chunks.js';

const at = '2021-03-17T09:58:34.120Z';
const chunks: LogChunk[] = [
  {
    first: 4,
    runs: [
      { stream: 'stdout', at, lines: 3, text: 'one\n\ttwo\n\u001b[31mred\n' },
      { stream: 'system', at: '2021-03-17T10:58:35+01:00', lines: 1, text: 'stopped:\nreason\n' },
    ],
  },
  { first: 8, runs: [{ stream: 'stderr', at, lines: 2, text: '\nlast\r\n' }] },
];

describe('formatChunks', () => {
  it('prints each line as formatLogLine does, raw or escaped', () => {
    const lines = chunks.flatMap(linesOfChunk);
    expect(lines.map((l) => l.position)).toEqual([4, 5, 6, 7, 8, 9]);
    expect(formatChunks(chunks, false)).toBe(lines.map((l) => `${formatLogLine(l)}\n`).join(''));
    expect(formatChunks(chunks, true)).toBe(lines.map((l) => `${formatLogLine({ ...l, text: escapeControlCharacters(l.text) })}\n`).join(''));
    expect(formatChunks(chunks, true)).toContain('2021-03-17 09:58:35 [system] stopped:\\u000areason\n');
  });
});

describe('formatChunks with a format', () => {
  it('--no-timestamps: the stream only before each line', () => {
    expect(formatChunks(chunks, false, { timestamps: false })).toBe('[app] one\n[app] \ttwo\n[app] \u001b[31mred\n[system] stopped:\nreason\n[app] \n[app] last\r\n');
  });

  it('--raw: the output as the task printed it, without [system] lines', () => {
    expect(formatChunks(chunks, false, { plain: true })).toBe('one\n\ttwo\n\u001b[31mred\n\nlast\r\n');
  });
});

describe('chunkAfter', () => {
  it('drops the lines at or before a position', () => {
    expect(chunkAfter(chunks[0]!, 3)).toBe(chunks[0]);
    expect(linesOfChunk(chunkAfter(chunks[0]!, 5)!).map((l) => [l.position, l.text])).toEqual([
      [6, '\u001b[31mred'],
      [7, 'stopped:\nreason'],
    ]);
    expect(chunkAfter(chunks[0]!, 7)).toBeNull();
    expect(lastPosition(chunks[1]!)).toBe(9);
  });
});
