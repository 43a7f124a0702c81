// bench/memory: the scheduler's resident memory on its embedded database (the quick start's
// default), beside the same scheduler on Postgres when TAPIT_DATABASE_URL is set. Figures come
// from /proc: VmRSS (now) and VmHWM (the most it has held). The workload is the quick start's:
// the first start (the database seeded, migrations), an app, `create task --wait`, then one task printing 20 MB.
// Usage: node bench/memory.mjs [log MB=20]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, startTapit, tapitCli, timeCommand } from './lib.mjs';

const LOG_MB = Number(process.argv[2] ?? 20);
const IMAGE = process.env.BENCH_IMAGE ?? 'tapit-test/busybox:latest';

const mb = (kb) => `${(kb / 1024).toFixed(0)} MB`;
function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name) => Number(status.match(new RegExp(`${name}:\\s+(\\d+) kB`))[1]);
  return { rss: field('VmRSS'), peak: field('VmHWM') };
}
// Long enough for V8's memory reducer to shrink the heap of an idle process.
const settle = () => new Promise((r) => setTimeout(r, Number(process.env.BENCH_SETTLE_MS ?? 30_000)));

// Launched as the quick start, the container image and the systemd unit launch it.
const tapit = await startTapit({ launcher: [join(ROOT, 'packages/scheduler/bin/embedded-heap.sh')] });
try {
  const pid = tapit.schedulerPid();
  const afterStart = memory(pid);
  await settle();
  const idle = memory(pid);
  const cliEnv = { TAPIT_URL: tapit.url, TAPIT_TOKEN: tapit.token, TAPIT_APP: 'demo' };
  await fetch(`${tapit.url}/v1/projects/default/stages/default/apps`, { method: 'POST', headers: tapit.headers, body: JSON.stringify({ name: 'demo', image: IMAGE }) });
  await timeCommand(...tapitCli(['create', 'task', 'echo Hello from tapit; uname -sr', '--wait'], cliEnv));
  await settle();
  const afterTask = memory(pid);
  // 20 MB of 100-byte numbered lines, followed live by the CLI as a user would.
  const lines = Math.round((LOG_MB * 1_000_000) / 100);
  await timeCommand(...tapitCli(['create', 'task', `seq -w 1 ${lines} | sed 's/$/ ${'x'.repeat(91)}/'`, '--wait'], cliEnv));
  await settle();
  const afterLog = memory(pid);
  const database = process.env.TAPIT_DATABASE_URL ? 'Postgres (TAPIT_DATABASE_URL)' : 'its embedded database';
  console.log(`bench/memory: the scheduler on ${database}, quick-start workload, one ${LOG_MB} MB log`);
  console.log(`first start (initdb, migrations): RSS ${mb(afterStart.rss)}, peak so far ${mb(afterStart.peak)}`);
  console.log(`idle after start:                 RSS ${mb(idle.rss)}`);
  console.log(`after create task --wait:         RSS ${mb(afterTask.rss)}`);
  console.log(`after a ${String(LOG_MB).padStart(2)} MB log:                RSS ${mb(afterLog.rss)}, peak over the run ${mb(afterLog.peak)}`);
} finally {
  await tapit.stop();
}
