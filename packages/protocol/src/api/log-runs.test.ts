import { describe, expect, it } from 'vitest';
import { rejectedFields } from '../testing/wire.js';
import { countLines, linesOfRun, LogRun, sliceRuns, toRuns, type RunLine } from './log-runs.js';

const at = '2024-05-01T10:00:00.000Z';
const later = '2024-05-01T10:00:00.001Z';
const line = (text: string, stream: RunLine['stream'] = 'stdout', when = at): RunLine => ({ stream, text, at: when });

describe('LogRun', () => {
  it('holds its lines each followed by \\n; a line with a \\n of its own is a run of one line', () => {
    expect(LogRun.parse({ stream: 'stdout', at, lines: 2, text: 'a\nb\n' }).lines).toBe(2);
    expect(LogRun.parse({ stream: 'system', at, lines: 1, text: 'a\nb\n' }).lines).toBe(1);
    expect(LogRun.parse({ stream: 'stdout', at, lines: 1, text: '\n' }).lines).toBe(1);
  });

  it.each([
    ['lines and breaks disagree', { stream: 'stdout', at, lines: 3, text: 'a\nb\n' }],
    ['no break after the last line', { stream: 'stdout', at, lines: 1, text: 'a' }],
    ['empty', { stream: 'stdout', at, lines: 1, text: '' }],
  ])('is refused naming text when %s', (_why, run) => {
    expect(rejectedFields(LogRun, run)).toEqual(['text']);
  });

  it('is refused naming lines when there are none', () => {
    expect(rejectedFields(LogRun, { stream: 'stdout', at, lines: 0, text: '\n' })).toContain('lines');
  });
});

describe('toRuns and linesOfRun', () => {
  it('groups neighbours of one stream and time, and gives the lines back exactly', () => {
    const lines = [line('1'), line('2'), line('err', 'stderr'), line('3'), line('4', 'stdout', later), line('two\nlines', 'system'), line(''), line('')];
    const runs = toRuns(lines);
    expect(runs.map((r) => [r.stream, r.lines])).toEqual([['stdout', 2], ['stderr', 1], ['stdout', 1], ['stdout', 1], ['system', 1], ['stdout', 2]]);
    for (const run of runs) expect(LogRun.safeParse(run).success).toBe(true);
    expect(runs.flatMap((run) => linesOfRun(run).map((text) => ({ stream: run.stream, text, at: run.at })))).toEqual(lines);
    expect(countLines(runs)).toBe(lines.length);
  });
});

describe('sliceRuns', () => {
  const runs = toRuns([line('a'), line('b'), line('c'), line('x\ny', 'system'), line('d'), line('e')]);
  const texts = (sliced: ReturnType<typeof toRuns>) => sliced.flatMap((r) => linesOfRun(r));

  it('drops the first lines and keeps at most `take`, cutting runs between lines', () => {
    expect(texts(sliceRuns(runs, 0))).toEqual(['a', 'b', 'c', 'x\ny', 'd', 'e']);
    expect(texts(sliceRuns(runs, 1))).toEqual(['b', 'c', 'x\ny', 'd', 'e']);
    expect(texts(sliceRuns(runs, 2, 2))).toEqual(['c', 'x\ny']);
    expect(texts(sliceRuns(runs, 4, 1))).toEqual(['d']);
    expect(sliceRuns(runs, 6)).toEqual([]);
    for (const run of sliceRuns(runs, 1, 4)) expect(LogRun.safeParse(run).success).toBe(true);
  });
});
