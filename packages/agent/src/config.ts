import { hostname } from 'node:os';
import { z } from 'zod';
import { AGENT_CAPACITY_LIMITS, Name, consoleStreamPath, copyStreamPath, parseLabels, type Labels } from '@tapit/protocol';
import { loadTrustedCas } from './connection/tls-trust.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from './log.js';

/** `127.0.0.1:9465`, `[::1]:9465`, `0.0.0.0:9465`. */
const LISTEN_ADDRESS = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/** Agent configuration, from the environment (PRODUCT.md lists the variables). */
const Env = z.object({
  TAPIT_SCHEDULER_URL: z
    .url({ protocol: /^(https?|wss?)$/, error: 'must be an http(s):// or ws(s):// URL' })
    .default('http://127.0.0.1:7700'),
  /** A join token: needed until the agent's own credential (in its state folder) is registered. */
  TAPIT_AGENT_TOKEN: z.string().min(1, 'must not be empty').optional(),
  /** `region=eu,gpu=true`: labels apps and tasks can require. */
  TAPIT_AGENT_LABELS: z.string().optional(),
  /** PEM file of the CA that signed the scheduler's certificate, for https:// and wss:// behind a private CA. */
  TAPIT_CA_FILE: z.string().optional(),
  TAPIT_AGENT_NAME: z.string().optional(),
  TAPIT_AGENT_STATE_DIR: z.string().min(1).default('/var/lib/tapit-agent'),
  TAPIT_AGENT_NETWORK: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'must be a Docker network mode').default('bridge'),
  TAPIT_AGENT_CPU: z.coerce
    .number({ error: 'must be a number of vCPUs' })
    .positive('must be positive')
    .max(AGENT_CAPACITY_LIMITS.cpu.max, `must be at most ${AGENT_CAPACITY_LIMITS.cpu.max}`)
    .optional(),
  TAPIT_AGENT_MEMORY_GB: z.coerce
    .number({ error: 'must be a number of GB' })
    .positive('must be positive')
    .max(AGENT_CAPACITY_LIMITS.memoryGb.max, `must be at most ${AGENT_CAPACITY_LIMITS.memoryGb.max}`)
    .optional(),
  /** Each task's PIDs limit; the agent runs as many tasks at once as fit in half the host's pid_max. */
  TAPIT_AGENT_TASK_PIDS: z.coerce.number({ error: 'must be a whole number of processes' }).int('must be a whole number of processes').min(16, 'must be at least 16').optional(),
  /** Agent-initiated stops (max_hours, storage) give the task this long after SIGTERM. */
  TAPIT_AGENT_STOP_GRACE_SECONDS: z.coerce.number().int().nonnegative().default(10),
  /** How often the writable layer is measured when no storage quota is available. */
  TAPIT_AGENT_STORAGE_CHECK_MS: z.coerce.number().int().positive().default(5000),
  /** Unacked log lines kept in memory per task; beyond it they wait on disk. */
  TAPIT_AGENT_SPOOL_MEMORY_MB: z.coerce.number({ error: 'must be a number of MB' }).positive('must be positive').default(32),
  /** A console nobody is attached to for this long (from its start or last detach) is stopped. */
  TAPIT_CONSOLE_GRACE_SECONDS: z.coerce.number().int().positive().default(900),
  /** How often the Docker engine is pinged while it answers (after a failure: at once, then with backoff). */
  TAPIT_AGENT_ENGINE_CHECK_MS: z.coerce.number({ error: 'must be a number of milliseconds' }).int().positive('must be positive').default(2000),
  /** A task assigned while the engine is away is held this long for it, then FAILED_TO_START. */
  TAPIT_AGENT_ENGINE_WAIT_SECONDS: z.coerce.number({ error: 'must be a number of seconds' }).int().nonnegative().default(300),
  /** json (one event per line) or pretty (the human lines); unset: pretty on a terminal, else json. */
  TAPIT_LOG_FORMAT: z.enum(LOG_FORMATS, { error: `must be one of ${LOG_FORMATS.join(', ')}` }).optional(),
  TAPIT_LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  /** HOST:PORT of the agent's Prometheus /metrics; unset: no metrics port. */
  TAPIT_AGENT_METRICS_LISTEN: z.string().regex(LISTEN_ADDRESS, 'must be HOST:PORT, e.g. 127.0.0.1:9465').optional(),
  DOCKER_HOST: z
    .string()
    .regex(/^(unix|tcp|npipe):\/\//, 'must be unix://PATH or tcp://HOST:PORT')
    .optional(),
});

export interface AgentConfig {
  schedulerUrl: string;
  /** The websocket endpoint derived from schedulerUrl. */
  connectUrl: string;
  /** The join token (TAPIT_AGENT_TOKEN); once the credential is registered it may be absent. */
  token: string | undefined;
  /** Certificate authorities for wss:// (Node's own plus TAPIT_CA_FILE's); undefined: Node's own. */
  ca: string[] | undefined;
  name: string;
  labels: Labels;
  stateDir: string;
  network: string;
  cpu: number | undefined;
  memoryGb: number | undefined;
  /** Each task's PIDs limit (default 1024). */
  pidsPerTask: number | undefined;
  stopGraceSeconds: number;
  storageCheckMs: number;
  spoolMemoryBytes: number;
  consoleGraceSeconds: number;
  engineCheckMs: number;
  engineWaitSeconds: number;
  /** Console sessions are pinged this often; a link that misses a ping is dropped (not an env). */
  consoleKeepaliveMs: number;
  dockerHost: string | undefined;
  logFormat: LogFormat | undefined;
  logLevel: LogLevel;
  /** Where /metrics is served (TAPIT_AGENT_METRICS_LISTEN); null: nowhere. */
  metricsListen: { host: string; port: number } | null;
}

export class ConfigError extends Error {}


function parseListen(address: string): { host: string; port: number } {
  const [, host, port] = LISTEN_ADDRESS.exec(address)!;
  if (Number(port) > 65535) throw new ConfigError(`TAPIT_AGENT_METRICS_LISTEN: port ${port} is not a TCP port (1-65535)`);
  return { host: host!.replace(/^\[|\]$/g, ''), port: Number(port) };
}

export function connectUrlFor(schedulerUrl: string): string {
  const url = new URL(schedulerUrl);
  url.protocol = url.protocol === 'https:' || url.protocol === 'wss:' ? 'wss:' : 'ws:';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/agents/connect`;
  return url.toString();
}

/** Where the agent dials back to serve a console session (`console.open`). */
export function consoleUrlFor(schedulerUrl: string, sessionId: string): string {
  return connectUrlFor(schedulerUrl).replace(/\/v1\/agents\/connect$/, consoleStreamPath(sessionId));
}

/** Where the agent dials back to send a copied file (`task.copy`). */
export function copyUrlFor(schedulerUrl: string, copyId: string): string {
  return connectUrlFor(schedulerUrl).replace(/\/v1\/agents\/connect$/, copyStreamPath(copyId));
}

/** `Build-Host.example.com` → `build-host`: the first label, made a valid Name. */
export function nameFromHostname(host: string): string {
  const label = host.split('.')[0]!.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+/, '');
  return label.slice(0, 63) || 'agent';
}

/** Parses the environment; throws ConfigError with one line naming the bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv): AgentConfig {
  // Empty strings count as unset, as shells often export `VAR=`.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = Env.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`${String(issue.path[0] ?? 'environment')}: ${issue.message}`);
  }
  const e = parsed.data;
  const name = e.TAPIT_AGENT_NAME?.toLowerCase() ?? nameFromHostname(hostname());
  const validName = Name.safeParse(name);
  if (!validName.success) {
    const from = e.TAPIT_AGENT_NAME === undefined ? ' (from the hostname; set TAPIT_AGENT_NAME)' : '';
    throw new ConfigError(`TAPIT_AGENT_NAME: "${name}"${from} ${validName.error.issues[0]!.message}`);
  }
  let labels: Labels;
  try {
    labels = parseLabels(e.TAPIT_AGENT_LABELS ?? '');
  } catch (error) {
    throw new ConfigError(`TAPIT_AGENT_LABELS: ${(error as Error).message}`);
  }
  let ca: string[] | undefined;
  try {
    ca = e.TAPIT_CA_FILE === undefined ? undefined : loadTrustedCas(e.TAPIT_CA_FILE);
  } catch (error) {
    throw new ConfigError(`TAPIT_CA_FILE: ${(error as Error).message}`);
  }
  return {
    schedulerUrl: e.TAPIT_SCHEDULER_URL,
    connectUrl: connectUrlFor(e.TAPIT_SCHEDULER_URL),
    token: e.TAPIT_AGENT_TOKEN,
    ca,
    name,
    labels,
    stateDir: e.TAPIT_AGENT_STATE_DIR,
    network: e.TAPIT_AGENT_NETWORK,
    cpu: e.TAPIT_AGENT_CPU,
    memoryGb: e.TAPIT_AGENT_MEMORY_GB,
    pidsPerTask: e.TAPIT_AGENT_TASK_PIDS,
    stopGraceSeconds: e.TAPIT_AGENT_STOP_GRACE_SECONDS,
    storageCheckMs: e.TAPIT_AGENT_STORAGE_CHECK_MS,
    spoolMemoryBytes: Math.round(e.TAPIT_AGENT_SPOOL_MEMORY_MB * 1024 * 1024),
    consoleGraceSeconds: e.TAPIT_CONSOLE_GRACE_SECONDS,
    engineCheckMs: e.TAPIT_AGENT_ENGINE_CHECK_MS,
    engineWaitSeconds: e.TAPIT_AGENT_ENGINE_WAIT_SECONDS,
    consoleKeepaliveMs: 15_000,
    dockerHost: e.DOCKER_HOST,
    logFormat: e.TAPIT_LOG_FORMAT,
    logLevel: e.TAPIT_LOG_LEVEL,
    metricsListen: e.TAPIT_AGENT_METRICS_LISTEN === undefined ? null : parseListen(e.TAPIT_AGENT_METRICS_LISTEN),
  };
}
