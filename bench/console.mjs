// bench/console: keystroke echo round trip through `tapit run 'cat'` (CLI ⇄ scheduler ⇄ agent ⇄
// container TTY) against `docker exec -it` of the same command in a running container of the
// same image, in one run. Usage: node bench/console.mjs [keystrokes=200]
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, startTapit, summarise, tapitCli } from './lib.mjs';

const KEYS = Number(process.argv[2] ?? 200);
const IMAGE = process.env.BENCH_IMAGE ?? 'tapit-test/busybox:latest';
const PTY_ECHO = join(ROOT, 'bench', 'pty-echo.py');

function roundTrips(marker, command) {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [PTY_ECHO, String(KEYS), marker, '--', ...command], { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => (code === 0 ? resolve(out.trim().split('\n').map(Number)) : reject(new Error(`pty-echo exited ${code}: ${err}${out}`))));
  });
}

const tapit = await startTapit();
const container = execFileSync('docker', ['run', '-d', '--rm', '--network', 'none', '--label', 'tapit.bench=console', IMAGE, 'sleep', '3600']).toString().trim();
try {
  await fetch(`${tapit.url}/v1/projects/default/stages/default/apps`, { method: 'POST', headers: tapit.headers, body: JSON.stringify({ name: 'bench', image: IMAGE }) });
  const env = { TAPIT_URL: tapit.url, TAPIT_TOKEN: tapit.token, TAPIT_APP: 'bench' };
  Object.assign(process.env, env);
  // `stty -echo` off is the default: the remote terminal echoes, as it does for a person typing.
  // The marker is computed remotely, so a CLI echoing the command line cannot match it.
  const command = 'echo ready-$((6*7)); exec cat';
  const [cli, args, cliPath] = tapitCli(['run', command]);
  const viaTapit = await roundTrips('ready-42', ['env', `PATH=${cliPath.PATH}`, cli, ...args]);
  const viaDocker = await roundTrips('ready-42', ['docker', 'exec', '-it', container, 'sh', '-c', command]);
  const t = summarise(viaTapit);
  const d = summarise(viaDocker);
  const f = (x) => `${x.toFixed(2).padStart(7)} ms`;
  console.log(`bench/console: ${KEYS} keystrokes each, image ${IMAGE}`);
  console.log(`tapit run        median ${f(t.median)} p90 ${f(t.p90)} p99 ${f(t.p99)}`);
  console.log(`docker exec -it  median ${f(d.median)} p90 ${f(d.p90)} p99 ${f(d.p99)}`);
  console.log(`difference of medians: ${(t.median - d.median).toFixed(2)} ms (target ≤ +2 ms)`);
} finally {
  execFileSync('docker', ['rm', '-f', container]);
  await tapit.stop();
}
