// bench/dispatch: `tapit create task CMD --wait` against `docker run --rm` of the same image and
// command, interleaved in one run on an idle system with a warm image. Also the time to the first
// [app] line on screen. Usage: node bench/dispatch.mjs [runs=30]
import { BIN, printRow, startTapit, timeCommand } from './lib.mjs';

const RUNS = Number(process.argv[2] ?? 30);
const IMAGE = process.env.BENCH_IMAGE ?? 'tapit-test/busybox:latest';

const tapit = await startTapit();
const cliEnv = { TAPIT_URL: tapit.url, TAPIT_TOKEN: tapit.token, TAPIT_APP: 'bench' };
try {
  await fetch(`${tapit.url}/v1/projects/default/stages/default/apps`, { method: 'POST', headers: tapit.headers, body: JSON.stringify({ name: 'bench', image: IMAGE }) });
  const tapitRun = (cmd, marker) => timeCommand(process.execPath, [BIN('tapit'), 'create', 'task', cmd, '--wait'], cliEnv, marker);
  const dockerRun = (cmd, marker) => timeCommand('docker', ['run', '--rm', '--network', 'none', IMAGE, 'sh', '-c', cmd], {}, marker);
  const cliOnly = () => timeCommand(process.execPath, [BIN('tapit'), 'list', 'agents', '--json'], cliEnv);

  // Warm-up: image cache, JIT, connections.
  for (let i = 0; i < 3; i++) {
    await tapitRun('true');
    await dockerRun('true');
  }
  const samples = { tapitTrue: [], dockerTrue: [], tapitFirst: [], dockerFirst: [], cli: [] };
  for (let i = 0; i < RUNS; i++) {
    // Interleaved, alternating who goes first, so drift on a shared machine hits both alike.
    const pair = [
      async () => samples.tapitTrue.push((await tapitRun('true')).totalMs),
      async () => samples.dockerTrue.push((await dockerRun('true')).totalMs),
    ];
    for (const run of i % 2 ? pair.reverse() : pair) await run();
    const first = [
      async () => samples.tapitFirst.push((await tapitRun('echo first-line', '[app] first-line')).firstLineMs),
      async () => samples.dockerFirst.push((await dockerRun('echo first-line', 'first-line')).firstLineMs),
    ];
    for (const run of i % 2 ? first.reverse() : first) await run();
    samples.cli.push((await cliOnly()).totalMs);
  }
  console.log(`bench/dispatch: ${RUNS} interleaved runs, image ${IMAGE}, scheduler on its embedded database, one local agent`);
  printRow("create task 'true' --wait", samples.tapitTrue, samples.dockerTrue);
  printRow('time to first [app] line', samples.tapitFirst, samples.dockerFirst);
  const cli = samples.cli.sort((a, b) => a - b);
  console.log(`CLI process alone (tapit list agents): median ${cli[Math.floor(cli.length / 2)].toFixed(0)} ms — the part of the overhead that is Node + oclif start-up`);
} finally {
  await tapit.stop();
}
