// bench/dashboard: the dashboard's pages with 1,000,000 task rows (issue 14's targets: a page
// answers in under 100 ms server side; the tasks page's first load under 200 KB of compressed
// assets). One scheduler (the built binary) on a fresh Postgres database; the rows are copies of
// a task created through the API, seeded by SQL (bench/seed-tasks.mjs). Latency is as a client on
// loopback sees it, an upper bound of the server's time; beside each, the same page with the few
// rows made through the API (the baseline, same run: what the machine's load costs any request).
//
// Usage: node bench/dashboard.mjs [divisor=1]    (10: 100,000 rows, for a quick run)
// Postgres: a fresh database on TAPIT_BENCH_ADMIN_URL (default: the test cluster of
// scripts/test-services.sh), dropped afterwards.
import { gzipSync } from 'node:zlib';
import { loadavg } from 'node:os';
import { openBenchDatabase, startScheduler, summarise } from './lib.mjs';
import { seedTasks } from './seed-tasks.mjs';

const DIVISOR = Number(process.argv[2] ?? 1);
const ROWS = Math.max(1, Math.round(1_000_000 / DIVISOR));
const SAMPLES = 100;
const ADMIN_URL = process.env.TAPIT_BENCH_ADMIN_URL ?? 'postgres://tapit:tapit@127.0.0.1:55432/postgres';
const APP = '/v1/projects/default/stages/default/apps';
const load = () => `load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`;

/** The cookies a response sets, as one Cookie header's pairs. */
const cookiesOf = (response) => response.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');

/** Signs in as the sign-in form does (its double-submit CSRF value, then the token): the session cookie. */
async function signIn(url, token) {
  const form = await fetch(`${url}/sign-in`);
  const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())[1];
  const answer = await fetch(`${url}/sign-in`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: cookiesOf(form), 'content-type': 'application/x-www-form-urlencoded', origin: url },
    body: new URLSearchParams({ csrf, token }),
  });
  if (answer.status !== 303) throw new Error(`sign-in: ${answer.status} ${await answer.text()}`);
  return cookiesOf(answer);
}

async function page(url, cookie, path) {
  const response = await fetch(`${url}${path}`, { headers: { cookie }, redirect: 'manual' });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${text.slice(0, 300)}`);
  return text;
}

async function sample(url, cookie, path) {
  for (let i = 0; i < 10; i++) await page(url, cookie, path);
  const times = [];
  for (let i = 0; i < SAMPLES; i++) {
    const t = performance.now();
    await page(url, cookie, path);
    times.push(performance.now() - t);
  }
  return summarise(times);
}

/** The pages to time: each a path, or how to find one (a cursor page follows the first page's link). */
function pages(taskId) {
  const nextOf = async (url, cookie, path) => {
    const href = /href="(\/tasks\?[^"]*cursor=[^"]+)"/.exec(await page(url, cookie, path))?.[1];
    return href?.replaceAll('&amp;', '&');
  };
  return [
    ['tasks (all)', async () => '/tasks'],
    ['tasks, app filter', async () => '/tasks?project=default&stage=default&app=bench'],
    ['tasks, status=RUNNING', async () => '/tasks?status=RUNNING'],
    ['tasks, second page', (url, cookie) => nextOf(url, cookie, '/tasks')],
    ['tasks, status=RUNNING, second page', (url, cookie) => nextOf(url, cookie, '/tasks?status=RUNNING')],
    ['a task', async () => `/tasks/${taskId}`],
  ];
}

/** What a browser loads for the tasks page: the HTML and the assets it links, raw and gzipped. */
async function firstLoad(url, cookie) {
  const html = await page(url, cookie, '/tasks');
  const assets = [...html.matchAll(/(?:href|src)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
  const files = [['/tasks (HTML)', Buffer.from(html)]];
  for (const path of new Set(assets)) files.push([path, Buffer.from(await (await fetch(`${url}${path}`)).arrayBuffer())]);
  let raw = 0;
  let gzipped = 0;
  for (const [path, body] of files) {
    const gz = gzipSync(body).length;
    raw += body.length;
    gzipped += gz;
    console.log(`  ${path.padEnd(50)} ${String(body.length).padStart(8)} B, gzip ${String(gz).padStart(7)} B`);
  }
  const met = gzipped <= 200 * 1024;
  console.log(`${'first load of the tasks page'.padEnd(52)} ${`${(gzipped / 1024).toFixed(1)} KB gzip`.padEnd(20)} target <= 200 KB   ${met ? 'MET    ' : 'NOT MET'} | ${(raw / 1024).toFixed(1)} KB raw, ${files.length} files`);
}

console.log(`bench/dashboard (divisor ${DIVISOR}): ${ROWS} task rows; Postgres; ${load()}`);
const database = await openBenchDatabase(ADMIN_URL);
let s;
try {
  s = await startScheduler({ TAPIT_DATABASE_URL: database.url });
  const api = async (method, path, body) => {
    const response = await fetch(`${s.url}${path}`, { method, headers: s.headers, body: body && JSON.stringify(body) });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return response.json();
  };
  await api('POST', APP, { name: 'bench', image: 'bench/none:1' });
  const task = await api('POST', `${APP}/bench/tasks`, { command: 'echo hello', cpu: 0.25, memoryGb: 0.5 });
  const cookie = await signIn(s.url, s.token);
  const baseline = new Map();
  for (const [label, pathOf] of pages(task.id)) {
    const path = await pathOf(s.url, cookie);
    if (path) baseline.set(label, await sample(s.url, cookie, path));
  }
  await database.connect();
  const started = performance.now();
  await seedTasks(database.pg, ROWS);
  const seedSeconds = (performance.now() - started) / 1000;
  for (const [label, pathOf] of pages(task.id)) {
    const path = await pathOf(s.url, cookie);
    const loadBefore = load();
    const st = await sample(s.url, cookie, path);
    const base = baseline.get(label);
    const vs = base ? `; with 1 row: median ${base.median.toFixed(1)} p99 ${base.p99.toFixed(1)} ms` : '';
    const met = st.p99 < 100;
    console.log(`${`page: ${label}, ${ROWS + 1} rows`.padEnd(52)} ${`p99 ${st.p99.toFixed(1)} ms`.padEnd(20)} target < 100 ms   ${met ? 'MET    ' : 'NOT MET'} | median ${st.median.toFixed(1)} p90 ${st.p90.toFixed(1)} ms (n=${st.n})${vs}; ${loadBefore}`);
  }
  console.log(`  ${ROWS} rows seeded by SQL in ${seedSeconds.toFixed(0)} s`);
  await firstLoad(s.url, cookie);
} catch (error) {
  console.error(error);
  if (s) console.error(s.output().slice(-5000));
  process.exitCode = 1;
} finally {
  await s?.stop();
  await database.close();
}
