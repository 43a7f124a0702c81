import { sql, type Kysely } from 'kysely';
import type { MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Database } from '../db/schema.js';

interface TaskCounts {
  byStatus: Map<string, number>;
  queued: number;
}

/** How long a scrape waits for the task counts before serving the last ones. */
const TASK_COUNTS_TIMEOUT_MS = 2_000;

/** The pg pool's counts (absent on the embedded database: PGlite is one connection in-process, no pool). */
export interface PoolCounts {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

/** Kinds of websocket this replica serves (server.ts names them from the upgrade's path). */
export type WebsocketKind = 'agent' | 'console' | 'exec' | 'console_dial_back' | 'copy_dial_back' | 'replica_relay' | 'dashboard';

export interface SchedulerMetricsOptions {
  db: Kysely<Database>;
  dbKind: 'postgres' | 'embedded';
  pool?: PoolCounts;
  /** Agents connected to this replica now. */
  agentsConnected: () => number;
  /** How long the task counts (one GROUP BY over tasks) are kept before they are read again. */
  taskCountsCacheMs: number;
}

/**
 * The scheduler's Prometheus metrics, in a registry of its own per scheduler (tests run several
 * in one process). Counters are this replica's; the task counts are the database's (every
 * replica reports the same). docs/operations.md lists them and what to alert on.
 */
export class SchedulerMetrics {
  readonly registry = new Registry();
  readonly placementLatency: Histogram;
  readonly logLinesIngested: Counter;
  readonly logBytesIngested: Counter;
  readonly websockets: Gauge<'kind'>;
  readonly consoleSessions: Gauge<'mode'>;
  readonly consoleSessionsStarted: Counter<'mode'>;
  private readonly httpRequests: Counter<'method' | 'route' | 'code'>;
  private readonly httpDuration: Histogram<'method' | 'route' | 'code'>;
  private taskCounts: { at: number; counts: Promise<TaskCounts> } | null = null;
  /** The last counts read, served while the database does not answer (a scrape never fails on it). */
  private lastCounts: TaskCounts = { byStatus: new Map(), queued: 0 };
  private countsFresh = 1;

  constructor(private readonly options: SchedulerMetricsOptions) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const counts = () => this.readTaskCounts();
    new Gauge({
      name: 'tapit_tasks',
      help: 'Tasks by status, in the whole database (every replica reports the same)',
      labelNames: ['status'],
      registers,
      async collect() {
        this.reset();
        for (const [status, count] of (await counts()).byStatus) this.set({ status }, count);
      },
    });
    new Gauge({
      name: 'tapit_queue_depth',
      help: 'Tasks PENDING with no agent yet: waiting for placement',
      registers,
      async collect() {
        this.set((await counts()).queued);
      },
    });
    const fresh = () => this.countsFresh;
    new Gauge({
      name: 'tapit_task_counts_fresh',
      help: '1 if tapit_tasks and tapit_queue_depth were just read from the database, 0 if they are the last counts read (it did not answer)',
      registers,
      async collect() {
        await counts();
        this.set(fresh());
      },
    });
    this.placementLatency = new Histogram({
      name: 'tapit_placement_latency_seconds',
      help: 'From a task created to its agent accepting it (observed by the replica the agent is connected to)',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    new Gauge({
      name: 'tapit_agents_connected',
      help: 'Agents connected to this replica',
      registers,
      collect() {
        this.set(options.agentsConnected());
      },
    });
    this.logLinesIngested = new Counter({ name: 'tapit_log_lines_ingested_total', help: 'Task log lines stored from agents by this replica', registers });
    this.logBytesIngested = new Counter({ name: 'tapit_log_bytes_ingested_total', help: 'Task log text stored from agents by this replica, in UTF-16 code units (about bytes for ASCII)', registers });
    this.websockets = new Gauge({ name: 'tapit_websocket_connections', help: 'Websocket connections open on this replica, by kind', labelNames: ['kind'], registers });
    this.consoleSessions = new Gauge({ name: 'tapit_console_sessions', help: 'Console and exec sessions this replica relays now, by mode (attach, exec)', labelNames: ['mode'], registers });
    this.consoleSessionsStarted = new Counter({ name: 'tapit_console_sessions_started_total', help: 'Console and exec sessions this replica relayed, by mode', labelNames: ['mode'], registers });
    // Zeros from the start: a rate over a series that appears only later misses its first step.
    for (const kind of ['agent', 'console', 'exec', 'console_dial_back', 'copy_dial_back', 'replica_relay', 'dashboard'] satisfies WebsocketKind[]) this.websockets.set({ kind }, 0);
    for (const mode of ['attach', 'exec']) {
      this.consoleSessions.set({ mode }, 0);
      this.consoleSessionsStarted.inc({ mode }, 0);
    }
    new Gauge({ name: 'tapit_database_info', help: 'The database this replica uses: postgres or embedded (PGlite)', labelNames: ['kind'], registers }).set({ kind: options.dbKind }, 1);
    const pool = options.pool;
    if (pool) {
      new Gauge({
        name: 'tapit_db_pool_connections',
        help: "The Postgres pool's connections: total open, idle, and queries waiting for one",
        labelNames: ['state'],
        registers,
        collect() {
          this.set({ state: 'total' }, pool.totalCount);
          this.set({ state: 'idle' }, pool.idleCount);
          this.set({ state: 'waiting' }, pool.waitingCount);
        },
      });
    }
    this.httpRequests = new Counter({ name: 'tapit_http_requests_total', help: 'HTTP API requests by method, route pattern and status code', labelNames: ['method', 'route', 'code'], registers });
    this.httpDuration = new Histogram({
      name: 'tapit_http_request_duration_seconds',
      help: 'HTTP API requests until their answer starts (a log follow: until it is open), by method, route pattern and status code',
      labelNames: ['method', 'route', 'code'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    });
  }

  /** Counts each request under its route pattern (`/v1/tasks/:id`), never its path: labels stay bounded. */
  readonly httpMiddleware: MiddlewareHandler = async (c, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      // The last handler that is not a middleware (`app.use`, method ALL) is the route; none: no route.
      const route = matchedRoutes(c).filter((r) => r.method !== 'ALL').at(-1)?.path ?? 'unmatched';
      const labels = { method: c.req.method, route, code: String(c.res.status) };
      this.httpRequests.inc(labels);
      this.httpDuration.observe(labels, (performance.now() - started) / 1000);
    }
  };

  /** Counts a websocket of `kind` from its upgrade to its socket's close. */
  trackWebsocket(kind: WebsocketKind, socket: { once(event: 'close', listener: () => void): unknown }): void {
    this.websockets.inc({ kind });
    socket.once('close', () => this.websockets.dec({ kind }));
  }

  /** A task accepted by its agent: how long since it was created. */
  accepted(createdAt: Date): void {
    this.placementLatency.observe(Math.max(0, Date.now() - createdAt.getTime()) / 1000);
  }

  /** Lines stored from an agent, and their text's length. */
  ingested(lines: number, chars: number): void {
    this.logLinesIngested.inc(lines);
    this.logBytesIngested.inc(chars);
  }

  /** The Prometheus text of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  private readTaskCounts() {
    const now = Date.now();
    if (this.taskCounts && now - this.taskCounts.at < this.options.taskCountsCacheMs) return this.taskCounts.counts;
    const read = sql<{ status: string; count: number; queued: number }>`
      SELECT status, count(*)::int AS count, (count(*) FILTER (WHERE agent_name IS NULL))::int AS queued FROM tasks GROUP BY status`
      .execute(this.options.db)
      .then(({ rows }) => ({
        byStatus: new Map(rows.map((r) => [r.status, Number(r.count)])),
        queued: Number(rows.find((r) => r.status === 'PENDING')?.queued ?? 0),
      }));
    // A database that fails or does not answer in time must not fail the scrape: the agents,
    // pool and HTTP families matter most during an outage. The last counts stand in, marked stale.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timed out')), TASK_COUNTS_TIMEOUT_MS)));
    const counts = Promise.race([read, late]).then(
      (fresh) => ((this.countsFresh = 1), (this.lastCounts = fresh)),
      () => {
        this.taskCounts = null; // not kept: the next scrape asks again
        this.countsFresh = 0;
        return this.lastCounts;
      },
    );
    void counts.finally(() => clearTimeout(timer));
    read.catch(() => undefined); // answered late, after the scrape gave up on it
    this.taskCounts = { at: now, counts };
    return counts;
  }
}
