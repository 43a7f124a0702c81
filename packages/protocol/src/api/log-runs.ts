import { z } from 'zod';
import { Timestamp } from '../common/ids.js';

/** stdout and stderr show as `[app]`, lifecycle lines as `[system]`. */
export const LogStream = z.enum(['stdout', 'stderr', 'system']);
export type LogStream = z.infer<typeof LogStream>;

/** Longest text of one run (a chunk's runs hold at most about 256 KiB, plus one long line). */
export const MAX_LOG_RUN_CHARS = 1024 * 1024;

/**
 * Consecutive lines of one stream stamped with the same millisecond, the unit logs travel and
 * are stored in: `text` holds the lines, each followed by `\n`, so runs concatenated are the
 * output as printed. A line that holds a `\n` of its own is a run of its own (`lines: 1`);
 * a run of several lines is cut at every `\n`.
 */
export const LogRun = z
  .object({
    stream: LogStream,
    at: Timestamp,
    lines: z.number().int().positive(),
    text: z.string().max(MAX_LOG_RUN_CHARS),
  })
  // (Only once `lines` is a count: a bad one is blamed alone.)
  .refine((run) => !(Number.isInteger(run.lines) && run.lines > 0) || (run.text.endsWith('\n') && (run.lines === 1 || countNewlines(run.text) === run.lines)), {
    message: 'must hold `lines` lines, each followed by \\n (a line with a \\n of its own is a run of one line)',
    path: ['text'],
  });
export type LogRun = z.infer<typeof LogRun>;

/** A line as runs are made from: its stream, text (without its `\n`) and time. */
export interface RunLine {
  stream: LogStream;
  text: string;
  at: string;
}

export function countNewlines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** Lines in all the runs. */
export function countLines(runs: readonly Pick<LogRun, 'lines'>[]): number {
  let n = 0;
  for (const run of runs) n += run.lines;
  return n;
}

/** The texts of a run's lines, without their `\n`. */
export function linesOfRun(run: Pick<LogRun, 'lines' | 'text'>): string[] {
  const body = run.text.slice(0, -1);
  return run.lines === 1 ? [body] : body.split('\n');
}

/** Lines as runs: neighbours of one stream and one time share a run. */
export function toRuns(lines: readonly RunLine[]): LogRun[] {
  const runs: LogRun[] = [];
  let last: LogRun | undefined;
  let lastAlone = false;
  for (const line of lines) {
    const alone = line.text.includes('\n');
    if (last && !alone && !lastAlone && last.stream === line.stream && last.at === line.at) {
      last.lines++;
      last.text += `${line.text}\n`;
      continue;
    }
    last = { stream: line.stream, at: line.at, lines: 1, text: `${line.text}\n` };
    lastAlone = alone;
    runs.push(last);
  }
  return runs;
}

/** Where the `n`th line of `text` begins (n from 0; `text.length` past the last). */
function lineOffset(text: string, n: number): number {
  let at = 0;
  for (let i = 0; i < n; i++) at = text.indexOf('\n', at) + 1;
  return at;
}

/** The runs without their first `skip` lines, and with at most `take` lines. */
export function sliceRuns<R extends LogRun>(runs: readonly R[], skip: number, take = Infinity): R[] {
  const out: R[] = [];
  let toSkip = Math.max(0, skip);
  let left = take;
  for (const run of runs) {
    if (left <= 0) break;
    if (toSkip >= run.lines) {
      toSkip -= run.lines;
      continue;
    }
    const keep = Math.min(run.lines - toSkip, left);
    if (toSkip === 0 && keep === run.lines) {
      out.push(run);
    } else {
      // Only a run of several lines can be cut, and those hold no `\n` but their ends.
      const start = lineOffset(run.text, toSkip);
      const end = start + lineOffset(run.text.slice(start), keep);
      out.push({ ...run, lines: keep, text: run.text.slice(start, end) });
    }
    left -= keep;
    toSkip = 0;
  }
  return out;
}
