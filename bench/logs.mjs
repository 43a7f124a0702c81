// bench/logs: the log pipeline (agent → scheduler → database → CLI) against Docker, in one run.
// Rows: `seq 1 1000000` and 100,000 lines of 1 KiB through `tapit create task … --wait` against
// `docker run --rm` of the same; `tapit show logs` of both against `docker logs`; bytes stored
// per byte of output; lines lost (every line checked once and in order, in every output).
// Usage: node bench/logs.mjs [runs=3]
//   TAPIT_DATABASE_URL=postgres://…/postgres  runs the scheduler on a fresh database made there
//                                            (the URL of a role that may create databases)
//   BENCH_PROFILE_DIR=DIR                     writes --cpu-prof profiles of scheduler, agent, CLI
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ROOT, dirBytes, openBenchDatabase, startTapit, summarise, tapitCli } from './lib.mjs';

const RUNS = Number(process.argv[2] ?? 3);
const IMAGE = process.env.BENCH_IMAGE ?? 'tapit-test/busybox:latest';
const ADMIN_URL = process.env.TAPIT_DATABASE_URL;
// The scheduler gets the fresh database's URL, or none (embedded); nothing else inherits it.
delete process.env.TAPIT_DATABASE_URL;
const PROFILE_DIR = process.env.BENCH_PROFILE_DIR;
const LABEL = `tapit-bench-logs=${randomBytes(4).toString('hex')}`;

/** 100,000 lines of 1 KiB (1023 characters and the line break): a number, then words from a random pool. */
const K1_AWK = `BEGIN { srand(1); split("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon phi chi psi omega GET POST /api/v1/users 200 404 500 ms user= id= ok error warning request_id= duration= bytes=", w, " "); pool = ""; while (length(pool) < 65536) pool = pool w[int(rand() * 40) + 1] (rand() < 0.3 ? "=" int(rand() * 100000) : "") " "; for (i = 1; i <= 100000; i++) printf "%06d %s\\n", i, substr(pool, int(rand() * 64000) + 1, 1016) }`;
const WORKLOADS = [
  {
    name: 'seq 1 1000000',
    command: 'seq 1 1000000',
    lines: 1_000_000,
    bytes: 6_888_896,
    ok: (text, i) => text === String(i + 1),
  },
  {
    name: '100,000 lines of 1 KiB',
    command: `awk '${K1_AWK}'`,
    lines: 100_000,
    bytes: 102_400_000,
    ok: (text, i) => text.length === 1023 && text.startsWith(`${String(i + 1).padStart(6, '0')} `),
  },
];

// Node refuses --cpu-prof in NODE_OPTIONS: it goes on the command line.
const profileArgs = (who) => (PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${join(PROFILE_DIR, who)}`] : []);

/** Runs a command with stdout to `file`; resolves with its wall time. Fails on a non-zero exit. */
function timeToFile(command, args, file, env = {}) {
  return new Promise((resolve, reject) => {
    const fd = openSync(file, 'w');
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', fd, 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => {
      closeSync(fd);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0) reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${err}`));
      else resolve(ms);
    });
  });
}

function run(command, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`${command} ${args.join(' ')}: ${out}`))));
  });
}

/**
 * Lines lost in an output file: every expected line must come once, in order. `app` reads the
 * CLI's `… [app] TEXT` lines (others are skipped); else every line is the program's own.
 */
function linesLost(file, workload, app) {
  const text = readFileSync(file, 'latin1');
  let expected = 0;
  let wrong = 0;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    let line = text.slice(start, end);
    start = end + 1;
    if (app) {
      const at = line.indexOf(' [app] ');
      if (at !== 19) continue; // `2021-03-17 09:58:34 [app] …`
      line = line.slice(at + 7);
    }
    if (expected < workload.lines && workload.ok(line, expected)) expected++;
    else wrong++;
  }
  if (wrong > 0) console.log(`  ! ${file}: ${wrong} lines out of place or unexpected`);
  return workload.lines - expected + wrong;
}

const LOG_TABLES = ['task_log_chunks', 'task_log_lines'];
const sizeQuery = `SELECT ${LOG_TABLES.map((t) => `coalesce(pg_total_relation_size(to_regclass('${t}')), 0)`).join(' + ')} AS bytes`;

/** Bytes of the log tables (heap, TOAST and indexes), through a client of the scheduler's database. */
async function logTableBytes(database) {
  if (database.pg) return Number((await database.pg.query(sizeQuery)).rows[0].bytes);
  // The embedded database is the scheduler's alone while it runs: read it between runs.
  const { PGlite } = await import(join(ROOT, 'node_modules/@electric-sql/pglite/dist/index.js'));
  const lite = await PGlite.create(database.dataDir);
  try {
    return Number((await lite.query(sizeQuery)).rows[0].bytes);
  } finally {
    await lite.close();
  }
}

const database = await openBenchDatabase(ADMIN_URL);
const tapit = await startTapit({
  schedulerEnv: database.url ? { TAPIT_DATABASE_URL: database.url } : {},
  schedulerNodeArgs: profileArgs('scheduler'),
  agentNodeArgs: profileArgs('agent'),
});
database.dataDir = join(tapit.dir, 'scheduler');
if (database.connect) await database.connect();
const cliEnv = () => ({ TAPIT_URL: tapit.url, TAPIT_TOKEN: tapit.token, TAPIT_APP: 'bench' });
/** `tapit ARGS` with its stdout to `file`, as timeToFile's arguments. */
const cliIn = (args, file) => {
  const [cli, cliArgs, env] = tapitCli(args, cliEnv(), profileArgs('cli'));
  return [cli, cliArgs, file, env];
};
const outDir = join(tapit.dir, 'out');
mkdirSync(outDir);
const results = [];
try {
  await fetch(`${tapit.url}/v1/projects/default/stages/default/apps`, { method: 'POST', headers: tapit.headers, body: JSON.stringify({ name: 'bench', image: IMAGE }) });
  const tapitRun = (cmd, file) => timeToFile(...cliIn(['create', 'task', cmd, '--wait'], file));
  const dockerRun = (cmd, file) => timeToFile('docker', ['run', '--rm', '--network', 'none', '--label', LABEL, IMAGE, 'sh', '-c', cmd], file);
  // Warm-up: image cache, JIT, connections.
  await tapitRun('echo warm', join(outDir, 'warm'));
  await dockerRun('echo warm', join(outDir, 'warm'));

  for (const workload of WORKLOADS) {
    const row = { workload, tapit: [], docker: [], show: [], dockerLogs: [], lost: 0, stored: null, folder: null, dockerJson: null, engineFollow: null };
    results.push(row);
    let taskId = null;
    for (let i = 0; i < RUNS; i++) {
      const tapitFile = join(outDir, `tapit-${i}`);
      const dockerFile = join(outDir, `docker-${i}`);
      const sizedRun = i === 0;
      const pair = [
        async () => {
          // The first run is measured for storage too: the database holds only the warm-up then.
          let before = 0;
          let folderBefore = 0;
          if (sizedRun) {
            if (database.kind === 'embedded') {
              await tapit.restartScheduler(async () => {
                folderBefore = dirBytes(database.dataDir);
                before = await logTableBytes(database);
              });
            } else {
              before = await logTableBytes(database);
            }
          }
          row.tapit.push(await tapitRun(workload.command, tapitFile));
          taskId = /^ID:\s+([0-9a-f]{32})$/m.exec(readFileSync(tapitFile, 'latin1').slice(0, 200))[1];
          row.lost += linesLost(tapitFile, workload, true);
          if (sizedRun) {
            if (database.kind === 'embedded') {
              await tapit.restartScheduler(async () => {
                row.folder = (dirBytes(database.dataDir) - folderBefore) / workload.bytes;
                row.stored = ((await logTableBytes(database)) - before) / workload.bytes;
              });
            } else {
              row.stored = ((await logTableBytes(database)) - before) / workload.bytes;
            }
          }
        },
        async () => {
          row.docker.push(await dockerRun(workload.command, dockerFile));
          row.lost += linesLost(dockerFile, workload, false);
        },
      ];
      for (const step of i % 2 ? pair.reverse() : pair) await step();
    }
    // What the agent reads: the engine's log API followed from a container's start, with
    // timestamps (Docker's own per-line cost, which `docker run` does not pay).
    const container = await run('docker', ['run', '-d', '--network', 'none', '--label', LABEL, IMAGE, 'sh', '-c', workload.command]);
    row.engineFollow = await timeToFile('docker', ['logs', '--follow', '--timestamps', container], join(outDir, 'follow'));
    await run('docker', ['wait', container]);
    const logPath = await run('docker', ['inspect', '--format', '{{.LogPath}}', container]);
    row.dockerJson = statSync(logPath).size / workload.bytes;
    for (let i = 0; i < RUNS; i++) {
      const showFile = join(outDir, `show-${i}`);
      const logsFile = join(outDir, `logs-${i}`);
      const pair = [
        async () => {
          row.show.push(await timeToFile(...cliIn(['show', 'logs', `task=${taskId}`], showFile)));
          row.lost += linesLost(showFile, workload, true);
        },
        async () => {
          row.dockerLogs.push(await timeToFile('docker', ['logs', container], logsFile));
          row.lost += linesLost(logsFile, workload, false);
        },
      ];
      for (const step of i % 2 ? pair.reverse() : pair) await step();
    }
    await run('docker', ['rm', '-f', container]);
  }

  const where = database.kind === 'postgres' ? 'Postgres (a fresh database)' : 'its embedded database (PGlite)';
  console.log(`bench/logs: ${RUNS} interleaved runs per row, image ${IMAGE}, scheduler on ${where}, one local agent`);
  const mib = (bytes, ms) => bytes / 1048576 / (ms / 1000);
  for (const row of results) {
    const { workload } = row;
    const t = summarise(row.tapit).median;
    const d = summarise(row.docker).median;
    const s = summarise(row.show).median;
    const l = summarise(row.dockerLogs).median;
    console.log(`${workload.name}:`);
    console.log(`  create task --wait   tapit ${(t / 1000).toFixed(2)} s (${mib(workload.bytes, t).toFixed(1)} MiB/s) | docker run --rm ${(d / 1000).toFixed(2)} s (${mib(workload.bytes, d).toFixed(1)} MiB/s) | time ratio ${(t / d).toFixed(2)}, throughput ${(d / t).toFixed(2)}× Docker's`);
    console.log(`  show logs            tapit ${(s / 1000).toFixed(2)} s (${mib(workload.bytes, s).toFixed(1)} MiB/s) | docker logs ${(l / 1000).toFixed(2)} s (${mib(workload.bytes, l).toFixed(1)} MiB/s) | throughput ${(l / s).toFixed(2)}× Docker's`);
    console.log(`  the engine's log API alone (docker logs --follow --timestamps from the start, what the agent reads): ${(row.engineFollow / 1000).toFixed(2)} s`);
    const folder = row.folder === null ? '' : `; data folder grew ${row.folder.toFixed(3)}× (WAL included)`;
    console.log(`  stored per output byte: ${row.stored.toFixed(3)}× (log tables, indexes and TOAST included)${folder}; Docker's json-file log ${row.dockerJson.toFixed(2)}×`);
    console.log(`  lines lost: ${row.lost} (of ${workload.lines} × ${RUNS * 4} outputs checked)`);
  }
} finally {
  await tapit.stop();
  await database.close();
  await run('docker', ['ps', '-aq', '--filter', `label=${LABEL}`]).then((ids) => ids && run('docker', ['rm', '-f', ...ids.split('\n')])).catch(() => undefined);
  rmSync(tapit.dir, { recursive: true, force: true });
}
