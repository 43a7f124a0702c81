import { logLinePrefix, sliceRuns, countLines, type LogChunk, type LogLine, type LogRun } from '@tapit/protocol';
import { escapeControlCharacters } from './control-characters.js';

/** Position of a chunk's last line. */
export function lastPosition(chunk: LogChunk): number {
  return chunk.first + countLines(chunk.runs) - 1;
}

/** A line as a chunk of one (a scheduler from before chunks sends lines). */
export function chunkOfLine(line: LogLine): LogChunk {
  return { first: line.position, runs: [{ stream: line.stream, at: line.at, lines: 1, text: `${line.text}\n` }] };
}

/** The chunk without its lines at or before `after` (null if nothing is left). */
export function chunkAfter(chunk: LogChunk, after: number): LogChunk | null {
  if (chunk.first > after) return chunk;
  const runs = sliceRuns(chunk.runs, after + 1 - chunk.first);
  return runs.length > 0 ? { first: after + 1, runs } : null;
}

/** How lines are printed (`show logs --no-timestamps`, `--raw`). */
export interface LogFormat {
  /** `2021-03-17 09:58:34 ` before each line's stream; without, `[app] text`. Default true. */
  timestamps?: boolean;
  /** The task's output only, as it printed it: no prefixes and no [system] lines. */
  plain?: boolean;
}

/**
 * Chunks as printed lines (`2021-03-17 09:58:34 [app] text`, what formatLogLine makes of each
 * line), built a run at a time: one prefix per run, put before its lines in one replace.
 * `escape`: control characters shown as `\uXXXX` (a terminal without `--raw`).
 */
export function formatChunks(chunks: readonly LogChunk[], escape: boolean, format: LogFormat = {}): string {
  let out = '';
  if (format.plain) {
    // Runs end each line with its \n: concatenated, they are the output as printed.
    for (const chunk of chunks) for (const run of chunk.runs) if (run.stream !== 'system') out += escape ? escapeControlCharacters(run.text, { keepNewlines: true }) : run.text;
    return out;
  }
  const timestamps = format.timestamps !== false;
  let lastAt = '';
  let lastStream = '';
  let prefix = '';
  for (const chunk of chunks) {
    for (const run of chunk.runs) {
      if (run.at !== lastAt || run.stream !== lastStream) {
        prefix = timestamps ? logLinePrefix(run.stream, run.at) : `[${run.stream === 'system' ? 'system' : 'app'}] `;
        lastAt = run.at;
        lastStream = run.stream;
      }
      out += formatRun(run, prefix, escape);
    }
  }
  return out;
}

function formatRun(run: LogRun, prefix: string, escape: boolean): string {
  if (run.lines === 1) {
    // The one kind of run whose line may hold a line break of its own: shown as formatLogLine does.
    const text = run.text.slice(0, -1);
    return `${prefix}${escape ? escapeControlCharacters(text) : text}\n`;
  }
  const body = escape ? escapeControlCharacters(run.text, { keepNewlines: true }) : run.text;
  return `${prefix}${body.slice(0, -1).replaceAll('\n', `\n${prefix}`)}\n`;
}
