// bench/cron: how late cron firings are, and whether any slot is doubled or missing. 100
// schedules `*/1 * * * * *` (100 firings a second) for 60 s, (a) one scheduler on its embedded
// database, (b) two replicas on one Postgres database. No agent: the tasks stay waiting, as they
// would behind busy agents (thousands of them by the end), and firing must not slow down for it.
//
// Lateness of a firing = its task's created_at minus its slot (scheduled_for), both the
// database's times. created_at is the start of the firing's transaction, which handles a few
// schedules; on Postgres the bench also watches the tasks table from outside and reports when
// each slot's tasks became visible (committed), to the poll interval. Doubled and missing slots
// are counted from the rows of the measured window, never assumed.
//
// Usage: node bench/cron.mjs [seconds=60] [schedules=100] [both|embedded|postgres]
// Postgres: a fresh database on TAPIT_BENCH_ADMIN_URL (default: the test cluster of
// scripts/test-services.sh), dropped afterwards.
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { openBenchDatabase, startScheduler, summarise, waitFor } from './lib.mjs';

const SECONDS = Number(process.argv[2] ?? 60);
const SCHEDULES = Number(process.argv[3] ?? 100);
const WHICH = process.argv[4] ?? 'both';
const ADMIN_URL = process.env.TAPIT_BENCH_ADMIN_URL ?? 'postgres://tapit:tapit@127.0.0.1:55432/postgres';
/** Slots before the window: the API traffic of the set-up is over, caches and pools are warm. */
const WARM_UP_MS = 3000;
/** After the window, how long the slots in it may take to be handled before the bench gives up. */
const DRAIN_MS = 120_000;
const POLL_MS = 10;
const APPS = '/v1/projects/default/stages/default/apps';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function api(replica, method, path, body) {
  const started = Date.now();
  const response = await fetch(`${replica.url}${path}`, { method, headers: replica.headers, body: body === undefined ? undefined : JSON.stringify(body) }).catch((error) => {
    throw new Error(`${method} ${path}: no answer (${error.cause?.code ?? error.message}) after ${Date.now() - started} ms`);
  });
  const json = await response.json();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

/**
 * Creates the schedules, each suspended at once so the set-up's requests do not compete with
 * firing, then resumes them all (spread over the replicas' APIs); waits out the window [start,
 * end) of whole seconds after that, and until every slot in it is handled. Returns the window.
 */
async function runWindow(replicas) {
  try {
    await api(replicas[0], 'POST', APPS, { name: 'cron', image: 'bench-cron:1' });
    const ids = [];
    for (let i = 0; i < SCHEDULES; i++) {
      const replica = replicas[i % replicas.length];
      const { id } = await api(replica, 'POST', `${APPS}/cron/schedules`, { cron: '*/1 * * * * *', command: 'true' });
      await api(replica, 'POST', `/v1/schedules/${id}/suspend`);
      ids.push(id);
    }
    let firstSlot = 0;
    for (const [i, id] of ids.entries()) {
      const resumed = await api(replicas[i % replicas.length], 'POST', `/v1/schedules/${id}/resume`);
      firstSlot = Math.max(firstSlot, Date.parse(resumed.nextRunAt));
    }
    const start = firstSlot + WARM_UP_MS;
    const end = start + SECONDS * 1000;
    await sleep(end - Date.now());
    const handled = async () => {
      const list = await api(replicas[0], 'GET', `/v1/schedules?app=cron&limit=500`);
      return list.items.every((s) => Date.parse(s.nextRunAt) >= end);
    };
    await waitFor(handled, DRAIN_MS).catch(() => console.log(`  (not every slot of the window was handled ${DRAIN_MS / 1000} s after it: the rest count as missing)`));
    return { start: new Date(start), end: new Date(end) };
  } catch (error) {
    throw new Error(`${error.message}\n${replicas.map((r) => r.output()).join('\n')}`, { cause: error });
  }
}

const TASKS = `SELECT schedule_id, scheduled_for, extract(epoch FROM created_at - scheduled_for) * 1000 AS late_ms
                 FROM tasks WHERE schedule_id IS NOT NULL AND schedule_attempt = 1 AND scheduled_for >= $1 AND scheduled_for < $2`;
const RUNS = `SELECT schedule_id, scheduled_for, outcome FROM schedule_runs WHERE scheduled_for >= $1 AND scheduled_for < $2`;

/** The window's figures from the rows: every slot of every schedule should have one run and one task. */
async function figures(query, { start, end }) {
  const tasks = await query(TASKS, [start, end]);
  const runs = await query(RUNS, [start, end]);
  const key = (row) => `${row.schedule_id} ${new Date(row.scheduled_for).toISOString()}`;
  const tasksPerSlot = new Map();
  for (const t of tasks) tasksPerSlot.set(key(t), (tasksPerSlot.get(key(t)) ?? 0) + 1);
  const expected = SCHEDULES * ((end - start) / 1000);
  const skipped = runs.filter((r) => r.outcome === 'skipped').length;
  const slotsWithRow = new Set(runs.map(key));
  return {
    late: tasks.map((t) => Number(t.late_ms)),
    expected,
    fired: tasksPerSlot.size,
    doubled: [...tasksPerSlot.values()].filter((n) => n > 1).length,
    // A slot with neither a run nor a task: never handled.
    missing: expected - new Set([...slotsWithRow, ...tasksPerSlot.keys()]).size,
    skipped,
  };
}

async function embedded() {
  // An empty TAPIT_DATABASE_URL is unset: the embedded database even if the shell has one.
  const scheduler = await startScheduler({ TAPIT_DATABASE_URL: '' });
  let window;
  try {
    window = await runWindow([scheduler]);
  } finally {
    await scheduler.stop();
  }
  // Read once the scheduler has let go of its folder.
  const db = await PGlite.create(scheduler.dataDir);
  try {
    return await figures(async (text, params) => (await db.query(text, params)).rows, window);
  } finally {
    await db.close();
  }
}

/**
 * Watches the tasks table from outside every POLL_MS: for each slot, when each of its tasks was
 * first seen committed (this machine's clock, which is also the database's here).
 */
function watchVisibility(url) {
  const client = new pg.Client({ connectionString: url });
  const counts = new Map(); // slot ms -> tasks seen so far
  const late = []; // [slot ms, visible lateness ms], one per task seen
  let running = true;
  const done = (async () => {
    await client.connect();
    while (running) {
      const { rows } = await client.query(
        `SELECT scheduled_for, count(*)::int AS n FROM tasks
          WHERE created_at > now() - interval '5 seconds' AND schedule_id IS NOT NULL AND schedule_attempt = 1 GROUP BY scheduled_for`,
      );
      const seenAt = Date.now();
      for (const row of rows) {
        const slot = row.scheduled_for.getTime();
        for (let i = counts.get(slot) ?? 0; i < row.n; i++) late.push([slot, seenAt - slot]);
        counts.set(slot, Math.max(counts.get(slot) ?? 0, row.n));
      }
      await sleep(POLL_MS);
    }
    await client.end();
  })();
  return {
    async stop({ start, end }) {
      running = false;
      await done;
      return late.filter(([slot]) => slot >= start.getTime() && slot < end.getTime()).map(([, ms]) => ms);
    },
  };
}

async function postgres() {
  const database = await openBenchDatabase(ADMIN_URL);
  const replicas = [];
  try {
    replicas.push(await startScheduler({ TAPIT_DATABASE_URL: database.url }));
    replicas.push(await startScheduler({ TAPIT_DATABASE_URL: database.url, TAPIT_BOOTSTRAP_TOKEN: replicas[0].token }));
    const watch = watchVisibility(database.url);
    const window = await runWindow(replicas);
    const visible = await watch.stop(window);
    await database.connect();
    return { ...(await figures(async (text, params) => (await database.pg.query(text, params)).rows, window)), visible };
  } finally {
    await Promise.all(replicas.map((r) => r.stop()));
    await database.close();
  }
}

const ms = (x) => `${(x ?? NaN).toFixed(1).padStart(7)} ms`;
const stats = (samples) => {
  const s = summarise(samples);
  return `median ${ms(s.median)} p90 ${ms(s.p90)} p99 ${ms(s.p99)} max ${ms(Math.max(...samples))}`;
};

function printRow(label, f) {
  console.log(`${label.padEnd(34)} ${stats(f.late)} | fired ${f.fired}/${f.expected} doubled ${f.doubled} missing ${f.missing} skipped ${f.skipped}`);
  if (f.visible) console.log(`${'  visible (committed, polled 10 ms)'.padEnd(34)} ${stats(f.visible)} | n=${f.visible.length}`);
}

console.log(`bench/cron: ${SCHEDULES} schedules '*/1 * * * * *' for ${SECONDS} s; lateness = task created_at - scheduled_for (target p99 <= 100 ms, 0 doubled, 0 missing)`);
if (WHICH !== 'postgres') printRow('embedded, 1 scheduler', await embedded());
if (WHICH !== 'embedded') printRow('Postgres, 2 replicas', await postgres());
