import type { Registry } from 'prom-client';

/** What the agent counts; the calls cost nothing until metrics are served. */
interface Counts {
  containerStarted(): void;
  containerFailed(): void;
  logShipped(lines: number, chars: number): void;
  linkReconnected(): void;
  /** Starts timing an engine call; the returned function ends it with its outcome. */
  engineCall(operation: string): (outcome: 'ok' | 'error') => void;
}

const NOTHING: Counts = {
  containerStarted: () => {},
  containerFailed: () => {},
  logShipped: () => {},
  linkReconnected: () => {},
  engineCall: () => () => {},
};
let counts: Counts = NOTHING;

/** Where the agent's code counts (agent-metrics.ts's one set per process: an agent process is one agent). */
export const agentMetrics: Counts = {
  containerStarted: () => counts.containerStarted(),
  containerFailed: () => counts.containerFailed(),
  logShipped: (lines, chars) => counts.logShipped(lines, chars),
  linkReconnected: () => counts.linkReconnected(),
  engineCall: (operation) => counts.engineCall(operation),
};

/** What the gauges read when scraped. */
export interface GaugeSources {
  tasksByState(): Record<string, number>;
  spoolBytes(): number;
}

/**
 * The agent's Prometheus metrics, from now on (TAPIT_AGENT_METRICS_LISTEN is set). prom-client
 * is loaded only then: an agent without a metrics port starts as fast as before (restarts are
 * on the path of every adopted task).
 */
export async function enableMetrics(sources: GaugeSources): Promise<Registry> {
  const { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } = await import('prom-client');
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'tapit_agent_tasks',
    help: 'Tasks this agent holds, by state (pending, running, exited: its end not yet acknowledged)',
    labelNames: ['state'],
    registers,
    collect() {
      this.reset();
      for (const [state, count] of Object.entries(sources.tasksByState())) this.set({ state }, count);
    },
  });
  new Gauge({
    name: 'tapit_agent_spool_bytes',
    help: 'Size of the log spool files on disk (lines kept until the scheduler acknowledges them)',
    registers,
    collect() {
      this.set(sources.spoolBytes());
    },
  });
  const started = new Counter({ name: 'tapit_agent_containers_started_total', help: 'Task containers started', registers });
  const failed = new Counter({ name: 'tapit_agent_containers_failed_total', help: 'Tasks that failed to start (FAILED_TO_START)', registers });
  const lines = new Counter({ name: 'tapit_agent_log_lines_shipped_total', help: 'Log lines sent to the scheduler (a line sent again after a reconnect counts again)', registers });
  const chars = new Counter({ name: 'tapit_agent_log_bytes_shipped_total', help: 'Log text sent to the scheduler, in UTF-16 code units of the lines (bytes for ASCII)', registers });
  const reconnects = new Counter({ name: 'tapit_agent_link_reconnects_total', help: 'Times the agent dialled the scheduler again after its link closed or failed', registers });
  const engine = new Histogram({
    name: 'tapit_agent_engine_call_duration_seconds',
    help: 'Calls to the container engine (Docker) by operation and outcome',
    labelNames: ['operation', 'outcome'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  counts = {
    containerStarted: () => started.inc(),
    containerFailed: () => failed.inc(),
    logShipped: (n, c) => {
      lines.inc(n);
      chars.inc(c);
    },
    linkReconnected: () => reconnects.inc(),
    engineCall: (operation) => {
      const end = engine.startTimer({ operation });
      return (outcome) => end({ outcome });
    },
  };
  return registry;
}
