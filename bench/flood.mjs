// bench/flood: what one task printing as fast as it can costs everyone else (issue 11, item 3).
// One scheduler, one agent. Two phases in one run, the same probes in both: without a flood, then
// with one (a task running `yes` of 200-byte lines for FLOOD_SECONDS, followed by a
// `tapit show logs --follow` as `create task --wait` would, until its log is complete):
// - a quiet task on the same agent prints a numbered line every 100 ms with its own time (the
//   host's CLOCK_BOOTTIME from /proc/uptime, 10 ms steps: a latency reads up to 10 ms high);
//   the benchmark follows its log and times each line from its print to its arrival, and checks
//   every line came, once, in order;
// - a console (`cat` on a TTY, same agent): keystroke echo round trips;
// - `GET /v1/tasks?project=other` with a member token of another project, back to back;
// - the scheduler's and the agent's event-loop delay (bench/loop-delay.cjs, preloaded);
// - agent link drops (the scheduler's and the agent's logs);
// - the flood's stored lines and bytes, lines/s, how long its log took to complete after its
//   container ended, and how much the database grew.
// Usage: node bench/flood.mjs [floodSeconds=30] [baselineSeconds=10]
//   TAPIT_DATABASE_URL=postgres://…/postgres  runs the scheduler on a fresh database made there
//   BENCH_PROFILE_DIR=DIR                     writes --cpu-prof profiles of scheduler and agent
//   BENCH_OUTPUT_DIR=DIR                      keeps what the scheduler and the agent printed
//   BENCH_BIN_ROOT=DIR                        measures the binaries built in another checkout
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, dirBytes, openBenchDatabase, startTapit, summarise, tapitCli } from './lib.mjs';

const FLOOD_SECONDS = Number(process.argv[2] ?? 30);
const BASELINE_SECONDS = Number(process.argv[3] ?? 10);
const IMAGE = process.env.BENCH_IMAGE ?? 'tapit-test/busybox:latest';
const ADMIN_URL = process.env.TAPIT_DATABASE_URL;
delete process.env.TAPIT_DATABASE_URL;
const PROFILE_DIR = process.env.BENCH_PROFILE_DIR;
const LINE_BYTES = 200;
const { default: WebSocket } = await import(join(ROOT, 'node_modules/ws/index.js'));

const nodeArgs = (who) => ['--require', join(ROOT, 'bench', 'loop-delay.cjs'), ...(PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${join(PROFILE_DIR, who)}`] : [])];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** CLOCK_MONOTONIC in ms: the same clock as /proc/uptime here (no suspend on a server). */
const monoMs = () => Number(process.hrtime.bigint()) / 1e6;
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

const database = await openBenchDatabase(ADMIN_URL);
const tapit = await startTapit({
  schedulerEnv: database.url ? { TAPIT_DATABASE_URL: database.url } : {},
  schedulerNodeArgs: nodeArgs('scheduler'),
  agentNodeArgs: nodeArgs('agent'),
});
if (database.connect) await database.connect();
const databaseBytes = async () =>
  database.pg ? Number((await database.pg.query('SELECT pg_database_size(current_database()) AS b')).rows[0].b) : dirBytes(join(tapit.dir, 'scheduler'));

async function api(path, { method = 'GET', body, token = tapit.token } = {}) {
  const response = await fetch(`${tapit.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}
const createTask = (project, app, body) => api(`/v1/projects/${project}/stages/default/apps/${app}/tasks`, { method: 'POST', body });
async function untilStatus(id, statuses, timeoutMs = 120_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const task = await api(`/v1/tasks/${id}`);
    if (statuses.includes(task.status)) return task;
    if (Date.now() > until) throw new Error(`task ${id} is ${task.status}, not ${statuses}`);
    await sleep(100);
  }
}

/** Reads a follow stream of the task's chunks; `onLine(stream, text, at)` per line; resolves at `end`. */
async function followChunks(id, onLine) {
  const response = await fetch(`${tapit.url}/v1/tasks/${id}/logs/chunks/follow`, { headers: tapit.headers });
  const decoder = new TextDecoder();
  let rest = '';
  for await (const bytes of response.body) {
    rest += decoder.decode(bytes, { stream: true });
    let nl;
    while ((nl = rest.indexOf('\n')) !== -1) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      if (!line.trim()) continue;
      const event = JSON.parse(line);
      if (event.type === 'end') return;
      if (event.type !== 'chunk') continue;
      for (const run of event.chunk.runs) for (const text of run.text.slice(0, -1).split('\n')) onLine(run.stream, text, run.at);
    }
  }
}

/** A quiet task printing `quiet N UPTIME` every 100 ms, followed: latency per line, and whether all came in order. */
async function quietTask(seconds) {
  const count = seconds * 10;
  const command = `i=0; while [ $i -lt ${count} ]; do i=$((i+1)); read up idle < /proc/uptime; echo "quiet $i $up"; sleep 0.1; done`;
  const { id } = await createTask('default', 'bench', { command });
  const latencies = [];
  const stamped = [];
  let next = 1;
  let wrong = 0;
  await followChunks(id, (stream, text, at) => {
    if (stream !== 'stdout') return;
    const [word, n, up] = text.split(' ');
    if (word !== 'quiet' || Number(n) !== next) return void wrong++;
    next++;
    const now = monoMs();
    latencies.push(now - Number(up) * 1000);
    // The part after Docker stamped it (its log's timestamp, to the millisecond; wall clock).
    stamped.push(Date.now() - Date.parse(at));
  });
  return { latencies, stamped, complete: next - 1 === count && wrong === 0, got: next - 1, count, wrong };
}

/** A console on `cat`: a key every 100 ms, timed until its echo comes back, until `stop()`. */
async function keystrokes(stopped) {
  const { id } = await createTask('default', 'bench', { command: 'cat', kind: 'interactive' });
  await untilStatus(id, ['RUNNING']);
  const ws = new WebSocket(`${tapit.url.replace(/^http/, 'ws')}/v1/tasks/${id}/console?cols=80&rows=24`, { headers: tapit.headers, perMessageDeflate: false });
  let waiting = null;
  ws.on('message', (data, binary) => {
    if (binary && data[0] === 1 && waiting && data.subarray(1).includes(waiting.key)) waiting.done();
  });
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  await sleep(500); // the attach's replay
  const samples = [];
  let lost = 0;
  const type = (text) => ws.send(Buffer.concat([Buffer.from([0]), Buffer.from(text)]));
  for (let i = 0; !stopped(); i++) {
    if (i % 40 === 39) {
      type('\r'); // a line for cat, so the TTY's line buffer never fills
      await sleep(100);
      continue;
    }
    const key = 'abcdefghijklmnopqrstuvwxyz'[i % 26];
    const started = monoMs();
    const echo = new Promise((done) => (waiting = { key: key.charCodeAt(0), done: () => done(true) }));
    type(key);
    const echoed = await Promise.race([echo, sleep(10_000).then(() => false)]);
    waiting = null;
    if (echoed) samples.push(monoMs() - started);
    else lost++;
    await sleep(100);
  }
  ws.close();
  await api(`/v1/tasks/${id}/stop`, { method: 'POST' }).catch(() => undefined);
  return { samples, lost };
}

/** `GET /v1/tasks?project=other` with that project's member token, back to back with 50 ms pauses, until `stop()`. */
async function apiLatency(token, stopped) {
  const samples = [];
  let failed = 0;
  while (!stopped()) {
    const started = monoMs();
    const response = await fetch(`${tapit.url}/v1/tasks?project=other&limit=20`, { headers: { authorization: `Bearer ${token}` } }).catch(() => null);
    if (response) await response.arrayBuffer();
    if (response?.ok) samples.push(monoMs() - started);
    else failed++;
    await sleep(50);
  }
  return { samples, failed };
}

/** The `[loop-delay]` lines a process printed between two epoch times. */
function loopDelays(output, from, to) {
  const seconds = [];
  for (const match of output.matchAll(/^\[loop-delay\] (\{.*\})$/gm)) {
    const sample = JSON.parse(match[1]);
    if (sample.at >= from && sample.at <= to + 1000) seconds.push(sample.max);
  }
  return seconds;
}

/** Lines of the logs printed after `offset` that say the agent's link went down. */
function linkDrops(offsets) {
  const scheduler = tapit.schedulerOutput().slice(offsets.scheduler).match(/agent bench (disconnected|silent)/g) ?? [];
  const agent = tapit.agentOutput().slice(offsets.agent).match(/connection\.(closed|silent)/g) ?? [];
  return scheduler.length + agent.length;
}

const progress = (text) => process.stderr.write(`[bench/flood] ${text}\n`);

async function phase(name, flood) {
  progress(name);
  const from = Date.now();
  const offsets = { scheduler: tapit.schedulerOutput().length, agent: tapit.agentOutput().length };
  const sizeBefore = await databaseBytes();
  const load = [loadavg()];
  let floodRun = null;
  if (flood) {
    const line = '0'.repeat(LINE_BYTES - 1);
    // The shell stays the container's PID 1, so timeout's signal reaches `yes`; tee and wc count
    // the lines and bytes it printed, said on stderr at the end, to count lines lost.
    const command = `exec 3>&1; (timeout ${FLOOD_SECONDS} yes ${line}; true) | tee /dev/fd/3 | wc -lc | sed 's/^ */flood printed lines and bytes: /' >&2`;
    const { id } = await createTask('default', 'bench', { command });
    // As `create task --wait` would: a follower of the flood, its output thrown away.
    const [cli, args, env] = tapitCli(['show', 'logs', `task=${id}`, '--follow'], { TAPIT_URL: tapit.url, TAPIT_TOKEN: tapit.token });
    const follower = spawn(cli, args, { env: { ...process.env, ...env }, stdio: 'ignore' });
    const followed = new Promise((resolve) => follower.on('exit', resolve));
    const running = await untilStatus(id, ['RUNNING', 'STOPPED']);
    floodRun = { id, followed, startedAt: monoMs(), running };
    progress(`flood task ${id} is ${running.status}`);
    await sleep(1000); // in full swing
  }
  let stop = false;
  const stopped = () => stop;
  const probes = [apiLatency(otherToken, stopped), keystrokes(stopped)];
  const quiet = await quietTask(flood ? FLOOD_SECONDS : BASELINE_SECONDS);
  progress(`quiet task done: ${quiet.got} of ${quiet.count} lines`);
  let floodStats = null;
  let stoppedTask = null;
  let doneAt = 0;
  let doneWall = 0;
  if (floodRun) {
    // The probes go on until the flood's log is complete.
    stoppedTask = await untilStatus(floodRun.id, ['STOPPED'], 600_000);
    await floodRun.followed;
    doneAt = monoMs();
    doneWall = Date.now();
  }
  stop = true;
  const [api_, keys] = await Promise.all(probes);
  const to = Date.now();
  load.push(loadavg());
  if (floodRun) {
    // Counted once the probes are done: reading the whole log's stderr and [system] lines is work too.
    const page = await api(`/v1/tasks/${floodRun.id}/logs/chunks?tail=1`);
    const containerEnd = Date.parse(stoppedTask.finishedAt);
    const others = [];
    for (const stream of ['stderr', 'system']) {
      for (let after = 0, more = true; more; ) {
        const page = await api(`/v1/tasks/${floodRun.id}/logs/chunks?stream=${stream}&after=${after}`);
        for (const chunk of page.chunks) for (const run of chunk.runs) others.push(...run.text.slice(0, -1).split('\n'));
        ({ last: after, more } = page);
      }
    }
    // A last line cut short by the timeout is a line of the log too.
    const [, lines, bytes] = /^flood printed lines and bytes: (\d+) +(\d+)$/m.exec(others.join('\n')) ?? [];
    const printed = Number(lines) + (Number(bytes) > Number(lines) * LINE_BYTES ? 1 : 0);
    floodStats = { lines: page.last - others.length, printed, seconds: (doneAt - floodRun.startedAt) / 1000, drainSeconds: (doneWall - containerEnd) / 1000, stopReason: stoppedTask.stopReason, stopCode: stoppedTask.stopCode };
  }
  await sleep(1500); // the last loop-delay lines
  return {
    name,
    load,
    quiet,
    api: api_,
    keys,
    schedulerLoop: loopDelays(tapit.schedulerOutput(), from, to),
    agentLoop: loopDelays(tapit.agentOutput(), from, to),
    drops: linkDrops(offsets),
    growth: (await databaseBytes()) - sizeBefore,
    flood: floodStats,
  };
}

let otherToken;
const results = [];
try {
  await api('/v1/projects/default/stages/default/apps', { method: 'POST', body: { name: 'bench', image: IMAGE } });
  await api('/v1/projects', { method: 'POST', body: { name: 'other' } });
  await api('/v1/projects/other/stages/default/apps', { method: 'POST', body: { name: 'web', image: IMAGE } });
  otherToken = (await api('/v1/tokens', { method: 'POST', body: { name: 'other-member', role: 'member', project: 'other' } })).token;
  // The other project's listing has something to list.
  for (let i = 0; i < 20; i++) await createTask('other', 'web', { command: `echo other ${i}` });
  await untilStatus((await createTask('default', 'bench', { command: 'echo warm' })).id, ['STOPPED']);
  results.push(await phase('without flood', false));
  results.push(await phase('with flood', true));
} finally {
  if (process.env.BENCH_OUTPUT_DIR) {
    writeFileSync(join(process.env.BENCH_OUTPUT_DIR, 'scheduler.log'), tapit.schedulerOutput());
    writeFileSync(join(process.env.BENCH_OUTPUT_DIR, 'agent.log'), tapit.agentOutput());
  }
  await tapit.stop();
  await database.close();
  rmSync(tapit.dir, { recursive: true, force: true });
}

const where = database.kind === 'postgres' ? 'Postgres (a fresh database)' : 'its embedded database (PGlite)';
console.log(`bench/flood: scheduler on ${where}, one local agent; flood: yes of ${LINE_BYTES}-byte lines for ${FLOOD_SECONDS} s; image ${IMAGE}`);
const ms = (x) => (x === undefined ? '—' : `${x.toFixed(x < 10 ? 1 : 0)} ms`);
const stats = (samples) => {
  if (samples.length === 0) return 'no samples';
  const s = summarise(samples);
  return `p50 ${ms(s.median)} p99 ${ms(s.p99)} max ${ms(Math.max(...samples))} (n=${s.n})`;
};
for (const r of results) {
  console.log(`${r.name} (load average ${r.load.join(' → ')}):`);
  console.log(`  quiet task's lines, print → follower   ${stats(r.quiet.latencies)}; ${r.quiet.complete ? 'all' : `NOT all (${r.quiet.got} of ${r.quiet.count}, ${r.quiet.wrong} out of place)`} in order`);
  console.log(`    of which after Docker stamped it    ${stats(r.quiet.stamped)}`);
  console.log(`  keystroke echo (console)               ${stats(r.keys.samples)}${r.keys.lost ? `, ${r.keys.lost} not echoed within 10 s` : ''}`);
  console.log(`  GET /v1/tasks, another project         ${stats(r.api.samples)}${r.api.failed ? `, ${r.api.failed} failed` : ''}`);
  console.log(`  scheduler event loop, worst per second ${stats(r.schedulerLoop)}`);
  console.log(`  agent event loop, worst per second     ${stats(r.agentLoop)}`);
  console.log(`  agent link drops                       ${r.drops}`);
  console.log(`  database growth                        ${(r.growth / 1048576).toFixed(1)} MiB`);
  if (r.flood) {
    const f = r.flood;
    const mb = (f.lines * LINE_BYTES) / 1048576;
    console.log(`  flood: printed ${f.printed} lines (${Math.round(f.printed / FLOOD_SECONDS)} lines/s), stored ${f.lines}: ${f.printed - f.lines} lost`);
    console.log(`  flood: ${f.lines} lines stored (${mb.toFixed(0)} MiB), ${Math.round(f.lines / f.seconds)} lines/s from its start to its log complete (${f.seconds.toFixed(1)} s, of which ${f.drainSeconds.toFixed(1)} s after its container ended), ${(r.growth / (f.lines * LINE_BYTES)).toFixed(3)} bytes of database per output byte; ${f.stopCode}${f.stopReason ? ` (${f.stopReason})` : ''}`);
  }
}
