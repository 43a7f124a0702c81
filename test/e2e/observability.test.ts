import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasFamily, parseMetrics, valueOf, type Sample } from '../support/prometheus.js';
import { readUntil } from '../support/read-until.js';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { freePort } from '../support/scheduler.js';
import { idFrom, startSystem, type System } from '../support/system.js';

// Metrics and logs as an operator sees them: the scheduler's GET /metrics (behind its token, and
// on a listener of its own), the agent's metrics port, and both processes' output, piped, as JSON.
const METRICS_TOKEN = `metrics-${'x'.repeat(24)}`;
let system: System;
let schedulerListen: string;
let agentListen: string;

beforeAll(async () => {
  schedulerListen = `127.0.0.1:${await freePort()}`;
  agentListen = `127.0.0.1:${await freePort()}`;
  system = await startSystem({
    // Empty: unset, so the piped processes choose their format themselves (JSON).
    schedulerEnv: { TAPIT_LOG_FORMAT: '', TAPIT_METRICS_TOKEN: METRICS_TOKEN, TAPIT_METRICS_LISTEN: schedulerListen, TAPIT_METRICS_CACHE_SECONDS: '0' },
    agentEnv: { TAPIT_LOG_FORMAT: '', TAPIT_AGENT_METRICS_LISTEN: agentListen },
  });
}, HOOK_TIMEOUT_MS);
afterAll(() => system?.stop(), HOOK_TIMEOUT_MS);

const why = () => system.output();

async function scrape(url: string, token: string | null = METRICS_TOKEN): Promise<Sample[]> {
  const response = await fetch(url, token === null ? {} : { headers: { authorization: `Bearer ${token}` } });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseMetrics(text);
}
const schedulerMetrics = () => scrape(`${system.scheduler.url}/metrics`);
const agentMetrics = () => scrape(`http://${agentListen}/metrics`, null);

describe('the scheduler metrics endpoint', () => {
  it('answers 401 without the token or with another, on the API port and on its own listener', async () => {
    for (const base of [system.scheduler.url, `http://${schedulerListen}`]) {
      const none = await fetch(`${base}/metrics`);
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Bearer');
      expect(((await none.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
      const wrong = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}y` } });
      expect(wrong.status).toBe(401);
      // An admin token of the API is no metrics token.
      const admin = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${system.scheduler.token}` } });
      expect(admin.status).toBe(401);
    }
    // The listener of its own serves nothing else.
    expect((await fetch(`http://${schedulerListen}/v1/whoami`, { headers: { authorization: `Bearer ${system.scheduler.token}` } })).status).toBe(404);
    expect((await fetch(`http://${schedulerListen}/metrics`, { method: 'POST', headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status).toBe(405);
  });

  it('exposes every family, and their values move when tasks run, logs flow and an exec session opens', async () => {
    const before = await schedulerMetrics();
    const agentBefore = await agentMetrics();

    const run = await system.tapit('create', 'task', 'seq 1 50', '--wait');
    expect(run.code, `${run.stderr}\n${why()}`).toBe(0);
    const done = idFrom(run.stdout);
    // A running task and an exec into it: a console session of mode exec.
    // It ends on SIGTERM at once (a shell as PID 1 ignores it otherwise, and the stop would wait its grace).
    const started = await system.tapit('create', 'task', 'trap "exit 0" TERM; while true; do sleep 0.2; done');
    expect(started.code, started.stderr).toBe(0);
    const sleeping = idFrom(started.stdout);
    await system.waitForTask(sleeping, (task) => task.status === 'RUNNING');
    const exec = await system.tapit('task:attach', sleeping, '--', 'echo', 'exec-for-metrics');
    expect(exec.code, `${exec.stderr}\n${why()}`).toBe(0);
    expect(exec.stdout).toContain('exec-for-metrics');

    const after = await schedulerMetrics();
    const delta = (name: string, labels: Record<string, string> = {}) => valueOf(after, name, labels) - valueOf(before, name, labels);
    // Tasks by status come from the database: one more STOPPED, one more RUNNING.
    expect(delta('tapit_tasks', { status: 'STOPPED' }), why()).toBe(1);
    expect(valueOf(after, 'tapit_tasks', { status: 'RUNNING' })).toBe(1);
    expect(hasFamily(after, 'tapit_queue_depth')).toBe(true);
    expect(valueOf(after, 'tapit_queue_depth')).toBe(0);
    // Both tasks were accepted: two placements observed, in seconds.
    expect(delta('tapit_placement_latency_seconds_count')).toBe(2);
    expect(delta('tapit_placement_latency_seconds_sum')).toBeGreaterThan(0);
    expect(valueOf(after, 'tapit_agents_connected')).toBe(1);
    // 50 lines of "1\n" … "50\n" (141 characters), at least (the exec's output is no task log).
    expect(delta('tapit_log_lines_ingested_total')).toBeGreaterThanOrEqual(50);
    expect(delta('tapit_log_bytes_ingested_total')).toBeGreaterThanOrEqual(141);
    expect(valueOf(after, 'tapit_websocket_connections', { kind: 'agent' })).toBe(1);
    expect(after.filter((s) => s.name === 'tapit_websocket_connections').map((s) => s.labels.kind).sort()).toEqual(['agent', 'console', 'console_dial_back', 'copy_dial_back', 'dashboard', 'exec', 'replica_relay']);
    expect(delta('tapit_console_sessions_started_total', { mode: 'exec' })).toBe(1);
    // The CLI exits on the exit frame; the replica counts the session until its recording and its
    // row are closed, a few milliseconds later.
    const execSessions = (now: Sample[]) => now.filter((s) => s.name === 'tapit_console_sessions' && s.labels.mode === 'exec');
    await readUntil('no exec session counted', schedulerMetrics, (now) => execSessions(now).length === 1 && execSessions(now)[0]!.value === 0, { timeoutMs: 10_000, context: why });
    // Postgres: the pool's counts.
    expect(valueOf(after, 'tapit_database_info', { kind: 'postgres' })).toBe(1);
    expect(valueOf(after, 'tapit_db_pool_connections', { state: 'total' })).toBeGreaterThanOrEqual(1);
    expect(hasFamily(after, 'tapit_db_pool_connections')).toBe(true);
    // HTTP by route pattern, never the task's id.
    expect(delta('tapit_http_requests_total', { method: 'GET', route: '/v1/tasks/:id', code: '200' })).toBeGreaterThanOrEqual(1);
    expect(delta('tapit_http_request_duration_seconds_count', { route: '/v1/tasks/:id' })).toBeGreaterThanOrEqual(1);
    for (const id of [done, sleeping]) expect(after.filter((s) => Object.values(s.labels).some((v) => v.includes(id)))).toEqual([]);
    // Node's own: the default process metrics.
    expect(hasFamily(after, 'process_cpu_user_seconds_total')).toBe(true);
    expect(hasFamily(after, 'nodejs_heap_size_used_bytes')).toBe(true);

    // The agent's port: its own families, moved by the same tasks.
    const agentAfter = await agentMetrics();
    const agentDelta = (name: string, labels: Record<string, string> = {}) => valueOf(agentAfter, name, labels) - valueOf(agentBefore, name, labels);
    expect(agentDelta('tapit_agent_containers_started_total')).toBe(2);
    expect(valueOf(agentAfter, 'tapit_agent_containers_failed_total')).toBe(0);
    expect(valueOf(agentAfter, 'tapit_agent_tasks', { state: 'running' })).toBe(1);
    expect(agentDelta('tapit_agent_log_lines_shipped_total')).toBeGreaterThanOrEqual(50);
    expect(agentDelta('tapit_agent_log_bytes_shipped_total')).toBeGreaterThanOrEqual(141);
    expect(hasFamily(agentAfter, 'tapit_agent_spool_bytes')).toBe(true);
    expect(valueOf(agentAfter, 'tapit_agent_link_reconnects_total')).toBe(0);
    expect(agentDelta('tapit_agent_engine_call_duration_seconds_count', { operation: 'start', outcome: 'ok' })).toBe(2);
    expect(hasFamily(agentAfter, 'process_resident_memory_bytes')).toBe(true);

    await system.tapit('task:stop', sleeping);
    await system.waitForTask(sleeping, (task) => task.status === 'STOPPED');
    const stopped = await agentMetrics();
    expect(valueOf(stopped, 'tapit_agent_engine_call_duration_seconds_count', { operation: 'task.stop' })).toBeGreaterThanOrEqual(1);
  });

  it('counts a failed start on the agent', async () => {
    const before = await agentMetrics();
    const failed = await system.tapit('create', 'task', 'true', 'image=tapit-test/no-such-image:latest', '--wait');
    expect(failed.code, `${failed.stdout}\n${why()}`).not.toBe(0);
    const after = await agentMetrics();
    expect(valueOf(after, 'tapit_agent_containers_failed_total') - valueOf(before, 'tapit_agent_containers_failed_total'), why()).toBe(1);
  });
});

describe('logs', () => {
  it('are JSON when piped: every line of the scheduler and of the agent parses, with level, time and msg', () => {
    for (const [who, output] of [
      ['scheduler', system.scheduler.output()],
      ['agent', system.agent.output()],
    ] as const) {
      const lines = output.split('\n').filter((line) => line !== '');
      expect(lines.length, who).toBeGreaterThan(2);
      for (const line of lines) {
        let event: Record<string, unknown>;
        try {
          event = JSON.parse(line) as Record<string, unknown>;
        } catch {
          throw new Error(`a ${who} line is no JSON: ${line}`);
        }
        expect(['debug', 'info', 'warn', 'error'], line).toContain(event.level);
        expect(Number.isNaN(Date.parse(String(event.time))), line).toBe(false);
        expect(typeof event.msg, line).toBe('string');
      }
    }
    // The agent's events keep their fields as fields.
    const started = system.agent.output().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>).find((e) => e.msg === 'agent.started');
    expect(started).toMatchObject({ level: 'info', name: system.agent.name });
    // The scheduler's listening line, as a message.
    expect(system.scheduler.output()).toMatch(/"msg":"tapit-scheduler \S+ listening on http:\/\/127\.0\.0\.1:\d+ \(Postgres\)"/);
  });
});
