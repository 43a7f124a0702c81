import { homedir, hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { MAX_LOG_RETENTION_DAYS } from '@tapit/protocol';
import { z } from 'zod';
import { AllowedNetworks, DEFAULT_ALLOWED_NETWORKS } from './alerts/allowed-networks.js';
import { DEFAULT_AUTH_FAILURES_PER_MINUTE } from './auth/auth-failures.js';
import { DEFAULT_MAX_STREAMS, DEFAULT_MAX_STREAMS_PER_TOKEN } from './http/stream-limits.js';
import { MAX_TASK_FILES_BYTES } from './tasks/task-files.js';
import { DEFAULT_COPY_MAX_BYTES } from './copies/copy-broker.js';
import { LOG_FORMATS, LOG_LEVELS } from './log.js';
import { parseSecretKey, SECRET_KEY_RULE } from './secrets/secret-keys.js';

/** `127.0.0.1:9464`, `[::1]:9464`, `0.0.0.0:9464`. */
export const LISTEN_ADDRESS = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;
const port = z.coerce.number().int().min(0, 'must be a port from 0 to 65535').max(65535, 'must be a port from 0 to 65535');
const token = z.string().min(16, 'must be at least 16 characters');
const positiveInt = z.coerce.number().int().positive('must be a positive whole number');
const BYTE_COUNT = 'must be a whole number of bytes, at least 1024';
const byteCount = () => z.coerce.number({ error: BYTE_COUNT }).int(BYTE_COUNT).min(1024, BYTE_COUNT);
const POSITIVE_COUNT = 'must be a positive whole number';
/** As positiveInt, and saying so for what is no number at all (`many`). */
const count = () => z.coerce.number({ error: POSITIVE_COUNT }).int(POSITIVE_COUNT).positive(POSITIVE_COUNT);

/** Every setting of the scheduler, from the environment (PRODUCT.md, "Configuration"). */
export const SchedulerConfig = z.object({
  TAPIT_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  TAPIT_DATA_DIR: z.string().min(1).default(join(homedir(), '.local', 'share', 'tapit', 'scheduler')),
  TAPIT_HOST: z.string().min(1).default('127.0.0.1'),
  TAPIT_PORT: port.default(7700),
  TAPIT_BOOTSTRAP_TOKEN: token.optional(),
  TAPIT_AGENT_JOIN_TOKEN: token.optional(),
  /**
   * The key that seals stored secrets (app secrets, registry passwords). Unset: a key file made
   * at first start in TAPIT_DATA_DIR. Replicas on one database need the same key.
   */
  TAPIT_SECRET_KEY: z.string().refine((text) => parseSecretKey(text) !== null, SECRET_KEY_RULE).optional(),
  /** Earlier keys, comma-separated: what they sealed still opens, and is sealed again with the current key. */
  TAPIT_SECRET_KEY_PREVIOUS: z
    .string()
    .refine((text) => text.split(',').every((key) => key.trim() === '' || parseSecretKey(key) !== null), `each comma-separated key ${SECRET_KEY_RULE}`)
    .optional(),
  /** How often agents send heartbeats; three missed ones close the connection. */
  TAPIT_HEARTBEAT_INTERVAL_MS: positiveInt.default(5000),
  /**
   * An agent cut off this long stops its tasks itself; the scheduler reports them AGENT_LOST once
   * they must have stopped (this, the stop grace, one heartbeat interval and 2 s: agents/cut-off.ts).
   */
  TAPIT_AGENT_LOST_GRACE_SECONDS: positiveInt.default(300),
  /** How far past max_hours the scheduler ends a task whose agent did not stop it. */
  TAPIT_DEADLINE_SLACK_SECONDS: positiveInt.default(60),
  /** How often each replica looks for work (placement, stops, deadlines) besides local wake-ups. */
  TAPIT_POLL_INTERVAL_MS: positiveInt.default(250),
  /** Connections open at once, all clients together; past it a new one is answered 503. */
  TAPIT_MAX_CONNECTIONS: positiveInt.default(4096),
  /** Connections open at once from one address (an IPv6 /64); past it a new one is answered 429. */
  TAPIT_MAX_CONNECTIONS_PER_ADDRESS: positiveInt.default(256),
  /** A request's headers must arrive within this; also how long a connection may send nothing. */
  TAPIT_HEADERS_TIMEOUT_MS: positiveInt.default(10_000),
  /** A whole request, body included, must arrive within this (answers may stream for longer). */
  TAPIT_REQUEST_TIMEOUT_MS: positiveInt.default(30_000),
  /** An idle kept-alive connection is closed after this. */
  TAPIT_KEEP_ALIVE_TIMEOUT_MS: positiveInt.default(5_000),
  /** Invalid tokens one address may present in a burst; then one per 60/N s, else 429. */
  TAPIT_AUTH_FAILURES_PER_MINUTE: positiveInt.default(DEFAULT_AUTH_FAILURES_PER_MINUTE),
  /**
   * Long-lived streams (log follows, console and exec sessions) one token may hold open at once on
   * a replica; one more is refused with 429 TOO_MANY_STREAMS.
   */
  TAPIT_MAX_STREAMS_PER_TOKEN: count().default(DEFAULT_MAX_STREAMS_PER_TOKEN),
  /** Such streams one replica serves at once, all tokens together; one more is refused with 429. */
  TAPIT_MAX_STREAMS: count().default(DEFAULT_MAX_STREAMS),
  /** Agent websocket connections one replica holds at most; more are refused with 503. */
  TAPIT_MAX_AGENT_CONNECTIONS: positiveInt.default(1000),
  /**
   * A cron slot not fired within this many seconds of its time was missed (no scheduler ran, or
   * none reached the database): it is handled by its schedule's missed-run policy.
   */
  TAPIT_SCHEDULE_MISSED_AFTER_SECONDS: positiveInt.default(30),
  /** A schedule's first retry waits this long after the failed attempt; each next one twice as long, at most 10 minutes. */
  TAPIT_SCHEDULE_RETRY_BACKOFF_MS: positiveInt.default(10_000),
  /**
   * Names this replica (agents connected to it, console sessions it relays): unique among the
   * running replicas, and the same across its restarts. Unset: see replicaId().
   */
  TAPIT_SCHEDULER_ID: z.string().min(1).optional(),
  /**
   * Where the other replicas reach this one (http:// or https://, no path) to relay a console,
   * exec or copy to an agent connected here. Unset: see advertiseUrl().
   */
  TAPIT_ADVERTISE_URL: z
    .string()
    .regex(/^https?:\/\/[^/?#\s]+\/?$/, 'must be an http:// or https:// address with no path, e.g. http://10.0.0.5:7700')
    .optional(),
  /** The wait after a webhook delivery's first failed attempt; it doubles after each further one, up to an hour. */
  TAPIT_WEBHOOK_RETRY_BASE_MS: positiveInt.default(10_000),
  /** A delivery is retried for this long after it was stored, then given up (`failed`). */
  TAPIT_WEBHOOK_RETRY_FOR_SECONDS: positiveInt.default(24 * 3600),
  /** One attempt, answer included, must end within this. */
  TAPIT_WEBHOOK_TIMEOUT_MS: positiveInt.default(10_000),
  /**
   * Days a task's log is kept after the task finished, then deleted (the task, its events and
   * the audit stay); decimals allowed. Unset: kept until the task is deleted. Apps may say otherwise.
   */
  TAPIT_LOG_RETENTION_DAYS: z.coerce
    .number({ error: `must be a number of days above 0, at most ${MAX_LOG_RETENTION_DAYS}` })
    .positive(`must be a number of days above 0, at most ${MAX_LOG_RETENTION_DAYS}`)
    .max(MAX_LOG_RETENTION_DAYS, `must be at most ${MAX_LOG_RETENTION_DAYS} days`)
    .optional(),
  /**
   * Bytes of output a task's log holds at most (1 GiB); past them its agent's lines are dropped,
   * counted and said in [system] lines, never silently.
   */
  TAPIT_LOG_MAX_BYTES_PER_TASK: byteCount().default(1024 ** 3),
  /**
   * Bytes a task's `--file`s hold at most, all together (2 MiB, also the most it may be set to:
   * they travel to the agent in the task's assignment, a frame of at most 4 MiB, as base64).
   */
  TAPIT_TASK_FILES_MAX_BYTES: byteCount().max(MAX_TASK_FILES_BYTES, `must be at most ${MAX_TASK_FILES_BYTES} bytes (2 MiB)`).default(MAX_TASK_FILES_BYTES),
  /** Bytes a file copied out of a task (`tapit cp`) may hold (256 MiB); a bigger one is refused before a byte moves. */
  TAPIT_COPY_MAX_BYTES: byteCount().default(DEFAULT_COPY_MAX_BYTES),
  /** Bytes of events a console or exec session's recording holds at most (64 MiB); the rest of the session is not recorded, and the recording says so. */
  TAPIT_CONSOLE_RECORDING_MAX_BYTES: byteCount().default(64 * 1024 ** 2),
  /** json (one event per line) or pretty (the human lines); unset: pretty on a terminal, else json. */
  TAPIT_LOG_FORMAT: z.enum(LOG_FORMATS, { error: `must be one of ${LOG_FORMATS.join(', ')}` }).optional(),
  TAPIT_LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  /** Bearer token that GET /metrics on the API port requires; unset (and no TAPIT_METRICS_LISTEN): no metrics served. */
  TAPIT_METRICS_TOKEN: token.optional(),
  /** How long the task counts of /metrics (one GROUP BY over tasks) are reused before they are read again. */
  TAPIT_METRICS_CACHE_SECONDS: z.coerce.number({ error: 'must be a number of seconds' }).nonnegative('must not be negative').default(5),
  /** HOST:PORT of a listener of its own serving only GET /metrics (e.g. 127.0.0.1:9464). */
  TAPIT_METRICS_LISTEN: z.string().regex(LISTEN_ADDRESS, 'must be HOST:PORT, e.g. 127.0.0.1:9464').refine((v) => Number(LISTEN_ADDRESS.exec(v)?.[2] ?? 0) <= 65535, 'must be HOST:PORT with a port from 0 to 65535').optional(),
  /** Addresses webhooks may reach: `external`, `loopback`, `private`, `*` or CIDRs, comma-separated. */
  TAPIT_WEBHOOK_ALLOWED_NETWORKS: z
    .string()
    .default(DEFAULT_ALLOWED_NETWORKS)
    .superRefine((value, ctx) => {
      try {
        new AllowedNetworks(value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
      }
    }),
}).refine((c) => c.TAPIT_HEADERS_TIMEOUT_MS <= c.TAPIT_REQUEST_TIMEOUT_MS, {
  path: ['TAPIT_HEADERS_TIMEOUT_MS'],
  message: 'must not be more than TAPIT_REQUEST_TIMEOUT_MS',
});
export type SchedulerConfig = z.infer<typeof SchedulerConfig>;

export class ConfigError extends Error {}

/**
 * This replica's name: TAPIT_SCHEDULER_ID, else `HOSTNAME:PORT`, which a replica keeps across
 * restarts (so it can close what it held when it died) and no two running ones share. With
 * port 0 (tests) that is no name, so one of its own for this process.
 */
export function replicaId(config: Pick<SchedulerConfig, 'TAPIT_SCHEDULER_ID' | 'TAPIT_PORT'>): string {
  if (config.TAPIT_SCHEDULER_ID) return config.TAPIT_SCHEDULER_ID;
  if (config.TAPIT_PORT !== 0) return `${hostname()}:${config.TAPIT_PORT}`;
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/**
 * The address other replicas relay to this one through: TAPIT_ADVERTISE_URL, else this replica's
 * own listen address, with loopback for a wildcard host: right for a single replica (and for
 * replicas on one host), while replicas on several hosts must each say theirs.
 */
export function advertiseUrl(config: Pick<SchedulerConfig, 'TAPIT_ADVERTISE_URL' | 'TAPIT_HOST'>, port: number): string {
  if (config.TAPIT_ADVERTISE_URL) return config.TAPIT_ADVERTISE_URL.replace(/\/$/, '');
  const host = config.TAPIT_HOST === '0.0.0.0' ? '127.0.0.1' : config.TAPIT_HOST === '::' ? '[::1]' : config.TAPIT_HOST.includes(':') ? `[${config.TAPIT_HOST}]` : config.TAPIT_HOST;
  return `http://${host}:${port}`;
}

/** Parses the environment; a bad value throws one line naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): SchedulerConfig {
  const relevant = Object.fromEntries(
    Object.entries(env).filter(([key, value]) => key.startsWith('TAPIT_') && value !== undefined && value !== ''),
  );
  const result = SchedulerConfig.safeParse(relevant);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ConfigError(`${String(issue.path[0])}: ${issue.message}`);
  }
  return result.data;
}
