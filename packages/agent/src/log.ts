import { pino, type Logger } from 'pino';

export type LogFormat = 'json' | 'pretty';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/**
 * Events an operator should look at (a refusal, a failure, a lost engine): warn; the agent giving
 * up: error; the rest of the lifecycle: info.
 */
const WARN_EVENT = /[.-](failed|error|refused|rejected|unreachable|unreadable|unauthorized|silent|name-in-use|cut-off|bad-frame|credential-unknown|slow-session)$/;

export function levelOf(event: string): LogLevel {
  if (event === 'agent.failed') return 'error';
  return WARN_EVENT.test(event) ? 'warn' : 'info';
}

/** Where log events go: stderr unless a test gives its own sink. */
interface Sink {
  write(text: string): void;
}

let logger: Logger | null = null;

/**
 * The agent's one logger: JSON, one event per line (level, time, msg = the event's name, and its
 * fields), or the human line `<time> tapit-agent <event> key=value …` (pretty: the default on a
 * terminal). TAPIT_LOG_FORMAT and TAPIT_LOG_LEVEL choose; loadConfig has checked their values.
 */
export function configureLog(options: { format?: LogFormat; level?: LogLevel; sink?: Sink } = {}): void {
  const sink = options.sink ?? process.stderr;
  const format = options.format ?? (process.stderr.isTTY ? 'pretty' : 'json');
  logger = pino(
    {
      base: null, // the fields are the event's own (`name` is the agent's name)
      level: options.level ?? 'info',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    // Written at once (no worker thread, no buffer): a line logged just before exit is not lost.
    format === 'json' ? { write: (text: string) => sink.write(text) } : { write: (text: string) => sink.write(prettyLine(JSON.parse(text) as Record<string, unknown>)) },
  );
}

/** The human line of a JSON event, as the agent printed before it had JSON logs. */
function prettyLine(event: Record<string, unknown>): string {
  const { level: _level, time, msg, ...fields } = event;
  const parts = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`);
  return `${String(time)} tapit-agent ${String(msg)}${parts.length ? ' ' + parts.join(' ') : ''}\n`;
}

/** One event per lifecycle step: `log('task.exited', { taskId, code })`. */
export function log(event: string, fields: Record<string, unknown> = {}): void {
  if (process.env.TAPIT_AGENT_QUIET === '1') return; // in-process tests
  if (logger === null) configureLog({ format: (process.env.TAPIT_LOG_FORMAT || undefined) as LogFormat | undefined, level: (process.env.TAPIT_LOG_LEVEL || undefined) as LogLevel | undefined });
  const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
  logger![levelOf(event)](defined, event);
}

/** Turns anything thrown into a message (graphile-worker's coerceError). */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : JSON.stringify(error);
}
