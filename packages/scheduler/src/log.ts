import { pino } from 'pino';

export type LogFormat = 'json' | 'pretty';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/**
 * How the scheduler's parts log: a line for people (the event's message), at info unless said.
 * Extra fields go into the JSON event (and after the line in the pretty format).
 */
export type Log = (line: string, level?: LogLevel, fields?: Record<string, unknown>) => void;

/** Where log events go: stderr unless a test gives its own sink. */
interface Sink {
  write(text: string): void;
}

/**
 * The scheduler's one logger: JSON, one event per line (`level`, `time`, `msg` and the fields),
 * or the human line `<time> <msg>` it always printed (pretty: the default on a terminal).
 * TAPIT_LOG_FORMAT and TAPIT_LOG_LEVEL choose; loadConfig has checked their values.
 */
export function createLog(options: { format?: LogFormat; level?: LogLevel; sink?: Sink } = {}): Log {
  const sink = options.sink ?? process.stderr;
  const format = options.format ?? (process.stderr.isTTY ? 'pretty' : 'json');
  const logger = pino(
    {
      base: null,
      level: options.level ?? 'info',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    // Written at once (no worker thread, no buffer): a line logged just before exit is not lost.
    { write: format === 'json' ? (text: string) => sink.write(text) : (text: string) => sink.write(prettyLine(JSON.parse(text) as Record<string, unknown>)) },
  );
  return (line, level = 'info', fields = {}) => logger[level](fields, line);
}

/** The human line of a JSON event, as the scheduler printed before it had JSON logs. */
function prettyLine(event: Record<string, unknown>): string {
  const { level, time, msg, ...fields } = event;
  const marked = level === 'info' || level === 'debug' ? '' : `${String(level).toUpperCase()} `;
  const parts = Object.entries(fields).map(([k, v]) => ` ${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`);
  return `${String(time)} ${marked}${String(msg)}${parts.join('')}\n`;
}
