// bench/scale: one scheduler (the built binary) on a fresh Postgres database, driven by
// protocol-level simulated agents (bench/sim-agents.mjs, no Docker). Four rows, each against its
// target in BENCHMARKS.md:
//   create     tasks created through the API by 32 parallel clients (target >= 2,000/s);
//   placement  those tasks (20,000) queued, then 1,000 simulated agents become ready at once:
//              tasks/s from then until every task is accepted (target >= 5,000/s on 2 cores);
//   agents     10,000 idle agents held by the scheduler: its RSS delta per agent (target <= 20 KB);
//   list       GET /v1/tasks (as `tapit list tasks` asks it) with 1,000,000 task rows seeded by
//              SQL: latency as the client sees it, an upper bound of the server's (target p99 <= 20 ms).
//
// Usage: node bench/scale.mjs [divisor=1] [rows=create,placement,agents,list]
// `divisor` scales every size down for a quick run (e.g. 10: 2,000 tasks, 100 agents, 1,000 idle
// agents, 100,000 rows). The load average is printed beside each row: this machine is shared.
// Postgres: a fresh database on TAPIT_BENCH_ADMIN_URL (default: the test cluster of
// scripts/test-services.sh), dropped afterwards.
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { randomBytes } from 'node:crypto';
import { openBenchDatabase, startScheduler, summarise, waitFor } from './lib.mjs';
import { startSimAgents } from './sim-agents.mjs';
import { seedTasks } from './seed-tasks.mjs';
import { CompiledQuery } from 'kysely';
import { openDatabase } from '../packages/scheduler/dist/db/client.js';
import { decodeCursor } from '../packages/scheduler/dist/db/keyset-cursor.js';
import { listTasksQuery } from '../packages/scheduler/dist/tasks/repository.js';

const DIVISOR = Number(process.argv[2] ?? 1);
const ROWS = new Set((process.argv[3] ?? 'create,placement,agents,list').split(','));
const ADMIN_URL = process.env.TAPIT_BENCH_ADMIN_URL ?? 'postgres://tapit:tapit@127.0.0.1:55432/postgres';
const size = (n) => Math.max(1, Math.round(n / DIVISOR));
const TASKS = size(20_000);
const CLIENTS = 32;
const PLACEMENT_AGENTS = size(1_000);
const IDLE_AGENTS = size(10_000);
const LIST_ROWS = size(1_000_000);
const LIST_SAMPLES = 200;
const APP = 'bench';
const APPS = '/v1/projects/default/stages/default/apps';

const load = () => `load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Requests on kept-alive connections (node:http: cheaper for the client than fetch on a shared machine). */
function client(url, token, sockets) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  const { hostname, port } = new URL(url);
  return {
    request(method, path, body, extraHeaders = {}) {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      return new Promise((resolve, reject) => {
        const req = http.request({ agent, hostname, port, method, path, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...extraHeaders, ...(payload ? { 'content-length': Buffer.byteLength(payload) } : {}) } }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (text += d));
          res.on('end', () => (res.statusCode >= 400 ? reject(new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 500)}`)) : resolve(text ? JSON.parse(text) : null)));
        });
        req.on('error', reject);
        req.end(payload);
      });
    },
    close: () => agent.destroy(),
  };
}

/** The scheduler's resident memory, in bytes. */
const rssOf = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;

/** Creates `count` tasks with `clients` parallel clients; returns their ids and the rate. */
async function createTasks(api, count, clients) {
  const ids = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < count) {
        next++;
        // With an Idempotency-Key, as the CLI sends every create.
        ids.push((await api.request('POST', `${APPS}/${APP}/tasks`, { command: 'exit 0' }, { 'idempotency-key': randomBytes(16).toString('hex') })).id);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { ids, seconds, perSecond: count / seconds };
}

/** A scheduler for the run: many agents from one address, a join token for the simulated ones. */
async function scheduler(databaseUrl) {
  const joinToken = `join-${randomBytes(12).toString('hex')}`;
  const s = await startScheduler({
    TAPIT_DATABASE_URL: databaseUrl,
    TAPIT_AGENT_JOIN_TOKEN: joinToken,
    TAPIT_MAX_AGENT_CONNECTIONS: String(IDLE_AGENTS + PLACEMENT_AGENTS + 100),
    TAPIT_MAX_CONNECTIONS: String(IDLE_AGENTS + PLACEMENT_AGENTS + 1000),
    TAPIT_MAX_CONNECTIONS_PER_ADDRESS: String(IDLE_AGENTS + PLACEMENT_AGENTS + 1000),
  });
  return { ...s, joinToken, api: client(s.url, s.token, CLIENTS) };
}

function row(label, value, target, met, extra) {
  console.log(`${label.padEnd(44)} ${value.padEnd(26)} target ${target.padEnd(14)} ${met ? 'MET    ' : 'NOT MET'} | ${extra}`);
}

async function createAndPlace(s) {
  await s.api.request('POST', APPS, { name: APP, image: 'bench/none:1' });
  // Warm-up: pools, caches, JIT.
  await createTasks(s.api, Math.min(200, TASKS), CLIENTS);
  const before = load();
  const created = await createTasks(s.api, TASKS, CLIENTS);
  if (ROWS.has('create')) row(`create: ${TASKS} tasks, ${CLIENTS} clients`, `${created.perSecond.toFixed(0)} tasks/s`, '>= 2000/s', created.perSecond >= 2000, `${created.seconds.toFixed(1)} s; ${before} → ${load()}`);
  if (!ROWS.has('placement')) return;
  // Connected but not ready (as agents whose engine is away): nothing is placed until they all say ready.
  const queued = TASKS + Math.min(200, TASKS);
  let accepted = 0;
  let lastAccepted = 0;
  const sims = await startSimAgents({
    url: s.url, joinToken: s.joinToken, count: PLACEMENT_AGENTS, prefix: 'place', ready: false, runMs: Infinity,
    capacity: { cpu: 64, memoryGb: 1024 },
    events: (event) => {
      if (event !== 'accepted') return;
      accepted++;
      lastAccepted = performance.now();
    },
  });
  try {
    await sleep(1000);
    const loadBefore = load();
    const t0 = performance.now();
    sims.setReady(true);
    await waitFor(async () => accepted >= queued, 600_000, () => `${accepted}/${queued} accepted\n${s.output().slice(-3000)}`);
    const seconds = (lastAccepted - t0) / 1000;
    const perSecond = queued / seconds;
    row(`placement: ${queued} queued, ${PLACEMENT_AGENTS} agents`, `${perSecond.toFixed(0)} tasks/s`, '>= 5000/s', perSecond >= 5000, `all accepted ${seconds.toFixed(2)} s after the agents said ready; ${loadBefore} → ${load()}`);
  } finally {
    await sims.close();
  }
}

async function idleAgents(s, database) {
  if (!database.pg) await database.connect();
  await sleep(2000);
  const before = rssOf(s.pid);
  const loadBefore = load();
  const started = performance.now();
  const sims = await startSimAgents({ url: s.url, joinToken: s.joinToken, count: IDLE_AGENTS, prefix: 'idle', capacity: { cpu: 4, memoryGb: 8 } });
  const joinSeconds = (performance.now() - started) / 1000;
  try {
    // Two heartbeat intervals of idling: buffers settle, the liveness pass has run.
    await sleep(12_000);
    const after = rssOf(s.pid);
    // From the table, not the API: 10,000 agents' listing can outlast the request timeout on a busy machine.
    const { rows: [{ online }] } = await database.pg.query(`SELECT count(*)::int AS online FROM agents WHERE name LIKE 'idle-%' AND status = 'online'`);
    const perAgent = (after - before) / IDLE_AGENTS;
    row(`agents: ${IDLE_AGENTS} idle agents held`, `${(perAgent / 1024).toFixed(1)} KB/agent`, '<= 20 KB', perAgent <= 20 * 1024 && online === IDLE_AGENTS,
      `${online} online; RSS ${(before / 2 ** 20).toFixed(0)} → ${(after / 2 ** 20).toFixed(0)} MiB; joined in ${joinSeconds.toFixed(1)} s (${(IDLE_AGENTS / joinSeconds).toFixed(0)}/s); ${loadBefore} → ${load()}`);
  } finally {
    await sims.close();
  }
}

/** Latency samples of GET `path`, after a warm-up. */
async function sampleList(s, path) {
  for (let i = 0; i < 20; i++) await s.api.request('GET', path);
  const samples = [];
  for (let i = 0; i < LIST_SAMPLES; i++) {
    const t = performance.now();
    await s.api.request('GET', path);
    samples.push(performance.now() - t);
  }
  return summarise(samples);
}

/**
 * Each listing as `tapit list tasks` asks it, first on the few rows made through the API (the
 * baseline, same run: what the machine's load costs any request), then with LIST_ROWS more rows.
 * Beside the API's latency, the database's own time for the statement (EXPLAIN ANALYZE).
 */
async function listLatency(s, database) {
  if (!database.pg) await database.connect();
  const scoped = `/v1/tasks?project=default&stage=default&app=${APP}&limit=50`;
  const queries = [
    ['all projects', '/v1/tasks?limit=50'],
    ['as `tapit list tasks` (app scope)', scoped],
    ['status=RUNNING', `${scoped}&status=RUNNING`],
    ['status=PROVISIONING (rare)', `${scoped}&status=PROVISIONING`],
    ['second page (cursor)', async () => `${scoped}&cursor=${encodeURIComponent((await s.api.request('GET', scoped)).nextCursor)}`],
    ['status=RUNNING, second page', async () => `${scoped}&status=RUNNING&cursor=${encodeURIComponent((await s.api.request('GET', `${scoped}&status=RUNNING`)).nextCursor)}`],
  ];
  const pathOf = async (q) => (typeof q === 'function' ? q() : q);
  const baseline = new Map();
  const few = (await database.pg.query('SELECT count(*)::int AS n FROM tasks')).rows[0].n;
  for (const [label, q] of queries) {
    if (label.includes('second page') && few <= 50) continue;
    baseline.set(label, await sampleList(s, await pathOf(q)));
  }
  const started = performance.now();
  await seedTasks(database.pg, LIST_ROWS);
  const seedSeconds = (performance.now() - started) / 1000;
  const { rows: [{ n }] } = await database.pg.query('SELECT count(*)::int AS n FROM tasks');
  for (const [label, q] of queries) {
    const path = await pathOf(q);
    const loadBefore = load();
    const st = await sampleList(s, path);
    const base = baseline.get(label);
    const vs = base ? `; with ${few} rows: median ${base.median.toFixed(1)} p99 ${base.p99.toFixed(1)} ms` : '';
    row(`list: ${label}, ${n} rows`, `p99 ${st.p99.toFixed(1)} ms`, 'p99 <= 20 ms', st.p99 <= 20, `median ${st.median.toFixed(1)} p90 ${st.p90.toFixed(1)} ms (n=${st.n})${vs}; ${loadBefore}`);
  }
  // The database's share: each listing's statement as this tree's scheduler builds it
  // (listTasksQuery of its build): not for another build's run (BENCH_SCHEDULER_BIN).
  if (process.env.BENCH_SCHEDULER_BIN) return;
  const { db, close } = await openDatabase({ url: database.url, dataDir: '' });
  try {
    const { nextCursor } = await s.api.request('GET', `${scoped}&status=RUNNING`);
    const cursorId = nextCursor ? decodeCursor(nextCursor) : undefined;
    const filters = [
      ['all projects', {}],
      ['app scope', { project: 'default', stage: 'default', app: APP }],
      ['app scope, status=RUNNING', { project: 'default', stage: 'default', app: APP, status: ['RUNNING'] }],
      ['app scope, status=RUNNING, second page', { project: 'default', stage: 'default', app: APP, status: ['RUNNING'] }, cursorId],
      ['stage scope (--all-apps), status=RUNNING', { project: 'default', stage: 'default', status: ['RUNNING'] }],
      ['all projects, status=RUNNING', { status: ['RUNNING'] }],
    ];
    for (const [label, filter, cursor] of filters) {
      const compiled = listTasksQuery(db, { ...filter, limit: 50 }, cursor).compile();
      const times = [];
      for (let i = 0; i < 20; i++) {
        const { rows } = await db.executeQuery(CompiledQuery.raw(`EXPLAIN (ANALYZE, FORMAT JSON) ${compiled.sql}`, [...compiled.parameters]));
        times.push(rows[0]['QUERY PLAN'][0]['Execution Time']);
      }
      const st = summarise(times);
      console.log(`  database time, ${label}: median ${st.median.toFixed(2)} ms, max ${Math.max(...times).toFixed(2)} ms (n=20)`);
    }
  } finally {
    await close();
  }
  console.log(`  ${LIST_ROWS} rows seeded by SQL in ${seedSeconds.toFixed(0)} s`);
}

console.log(`bench/scale (divisor ${DIVISOR}): ${TASKS} tasks, ${CLIENTS} clients, ${PLACEMENT_AGENTS} placement agents, ${IDLE_AGENTS} idle agents, ${LIST_ROWS} list rows; Postgres; ${load()}`);
const database = await openBenchDatabase(ADMIN_URL);
let s;
try {
  s = await scheduler(database.url);
  if (ROWS.has('create') || ROWS.has('placement')) await createAndPlace(s);
  else if (ROWS.has('list')) {
    // The rows are copies of a task created through the API.
    await s.api.request('POST', APPS, { name: APP, image: 'bench/none:1' });
    await createTasks(s.api, 1, 1);
  }
  if (ROWS.has('list')) await listLatency(s, database);
  // Last, on a scheduler and database of its own: after the other rows the scheduler's heap holds
  // their garbage, which a collection during this row freed (a negative figure per agent).
  if (ROWS.has('agents')) {
    s.api.close();
    await s.stop();
    s = undefined;
    const own = await openBenchDatabase(ADMIN_URL);
    let idle;
    try {
      idle = await scheduler(own.url);
      await idleAgents(idle, own);
    } catch (error) {
      if (idle) console.error(idle.output().slice(-5000));
      throw error;
    } finally {
      idle?.api.close();
      await idle?.stop();
      await own.close();
    }
  }
} catch (error) {
  console.error(error);
  if (s) console.error(s.output().slice(-5000));
  process.exitCode = 1;
} finally {
  s?.api.close();
  await s?.stop();
  await database.close();
}
