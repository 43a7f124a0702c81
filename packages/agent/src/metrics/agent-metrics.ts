import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The agent's Prometheus metrics: one set per process (an agent process is one agent). Served on
 * TAPIT_AGENT_METRICS_LISTEN by metrics-server.ts; counted whether served or not (a few additions).
 */
export const agentRegistry = new Registry();
collectDefaultMetrics({ register: agentRegistry });

/** What the gauges read when scraped: set by startAgent. */
let sources: { tasksByState(): Record<string, number>; spoolBytes(): number } | null = null;

export function readGaugesFrom(next: typeof sources): void {
  sources = next;
}

export const agentMetrics = {
  tasks: new Gauge({
    name: 'tapit_agent_tasks',
    help: 'Tasks this agent holds, by state (running: its container runs)',
    labelNames: ['state'] as const,
    registers: [agentRegistry],
    collect() {
      this.reset();
      for (const [state, count] of Object.entries(sources?.tasksByState() ?? {})) this.set({ state }, count);
    },
  }),
  containersStarted: new Counter({ name: 'tapit_agent_containers_started_total', help: 'Task containers started', registers: [agentRegistry] }),
  containersFailed: new Counter({ name: 'tapit_agent_containers_failed_total', help: 'Task containers that failed to start (FAILED_TO_START)', registers: [agentRegistry] }),
  logLinesShipped: new Counter({ name: 'tapit_agent_log_lines_shipped_total', help: 'Log lines sent to the scheduler (a line sent again after a reconnect counts again)', registers: [agentRegistry] }),
  logBytesShipped: new Counter({ name: 'tapit_agent_log_bytes_shipped_total', help: 'Log text sent to the scheduler, in UTF-16 code units of the lines (about bytes for ASCII)', registers: [agentRegistry] }),
  spoolBytes: new Gauge({
    name: 'tapit_agent_spool_bytes',
    help: 'Size of the log spool files on disk (lines kept until the scheduler acknowledges them)',
    registers: [agentRegistry],
    collect() {
      this.set(sources?.spoolBytes() ?? 0);
    },
  }),
  linkReconnects: new Counter({ name: 'tapit_agent_link_reconnects_total', help: 'Times the agent dialled the scheduler again after its link closed or failed', registers: [agentRegistry] }),
  engineCalls: new Histogram({
    name: 'tapit_agent_engine_call_duration_seconds',
    help: 'Calls to the container engine (Docker) by operation and outcome',
    labelNames: ['operation', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [agentRegistry],
  }),
};
