// bench/dispatch: `tapit create task CMD --wait` against `docker run --rm` of the same image and
// command, interleaved in one run on an idle system with a warm image. Also the time to the first
// [app] line on screen, and the same command by a bare node:http client (the floor of any Node
// CLI). Usage: node bench/dispatch.mjs [runs=30]
import { join } from 'node:path';
import { printRow, ROOT, startTapit, summarise, tapitCli, timeCommand } from './lib.mjs';

const RUNS = Number(process.argv[2] ?? 30);
const IMAGE = process.env.BENCH_IMAGE ?? 'tapit-test/busybox:latest';

const tapit = await startTapit();
const cliEnv = { TAPIT_URL: tapit.url, TAPIT_TOKEN: tapit.token, TAPIT_APP: 'bench' };
try {
  await fetch(`${tapit.url}/v1/projects/default/stages/default/apps`, { method: 'POST', headers: tapit.headers, body: JSON.stringify({ name: 'bench', image: IMAGE }) });
  const tapitRun = (cmd, marker) => timeCommand(...tapitCli(['create', 'task', cmd, '--wait'], cliEnv), marker);
  const dockerRun = (cmd, marker) => timeCommand('docker', ['run', '--rm', '--network', 'none', IMAGE, 'sh', '-c', cmd], {}, marker);
  // The same through the API from this process: the whole path minus the CLI's start-up.
  const apiRun = async (cmd) => {
    const started = process.hrtime.bigint();
    const task = await (await fetch(`${tapit.url}/v1/projects/default/stages/default/apps/bench/tasks`, { method: 'POST', headers: tapit.headers, body: JSON.stringify({ command: cmd }) })).json();
    const follow = await fetch(`${tapit.url}/v1/tasks/${task.id}/logs/follow`, { headers: tapit.headers });
    const text = await follow.text();
    if (!text.includes('"type":"end"')) throw new Error(`follow ended early: ${text}`);
    return Number(process.hrtime.bigint() - started) / 1e6;
  };
  // The floor of any Node client for the same command (bench/bare-client.cjs: node:http alone),
  // without the CA variable the `tapit` launcher keeps from Node as well. Run by node itself:
  // the CLI's row also pays its launcher (sh and a readlink, ~2.4 ms here).
  const bareRun = () => timeCommand(process.execPath, [join(ROOT, 'bench', 'bare-client.cjs'), 'true'], { ...cliEnv, NODE_EXTRA_CA_CERTS: undefined });
  const cliOnly = () => timeCommand(...tapitCli(['list', 'agents', '--json'], cliEnv));
  // The floor of any Node CLI on this machine: the runtime starting and exiting.
  const nodeOnly = () => timeCommand(process.execPath, ['-e', ''], {});
  // Node 20 parses NODE_EXTRA_CA_CERTS as it starts, whatever it runs (the `tapit` launcher spares
  // the CLI that): where the variable is set, Node's own floor is also measured without it.
  const extraCaCerts = process.env.NODE_EXTRA_CA_CERTS;
  const nodeOnlyBare = async () => (await timeCommand(process.execPath, ['-e', ''], { NODE_EXTRA_CA_CERTS: undefined })).totalMs;
  // Warm-up: image cache, JIT, connections.
  for (let i = 0; i < 3; i++) {
    await tapitRun('true');
    await dockerRun('true');
    await bareRun();
  }
  const samples = { tapitTrue: [], dockerTrue: [], bare: [], tapitFirst: [], dockerFirst: [], api: [], cli: [], node: [], nodeBare: [] };
  for (let i = 0; i < RUNS; i++) {
    // Interleaved, each going first in turn, so drift on a shared machine hits all alike.
    const round = [
      async () => samples.tapitTrue.push((await tapitRun('true')).totalMs),
      async () => samples.dockerTrue.push((await dockerRun('true')).totalMs),
      async () => samples.bare.push((await bareRun()).totalMs),
    ];
    for (const run of [...round.slice(i % 3), ...round.slice(0, i % 3)]) await run();
    const first = [
      async () => samples.tapitFirst.push((await tapitRun('echo first-line', '[app] first-line')).firstLineMs),
      async () => samples.dockerFirst.push((await dockerRun('echo first-line', 'first-line')).firstLineMs),
    ];
    for (const run of i % 2 ? first.reverse() : first) await run();
    samples.api.push(await apiRun('true'));
    samples.cli.push((await cliOnly()).totalMs);
    samples.node.push((await nodeOnly()).totalMs);
    if (extraCaCerts) samples.nodeBare.push(await nodeOnlyBare());
  }
  const database = process.env.TAPIT_DATABASE_URL ? 'Postgres (TAPIT_DATABASE_URL)' : 'its embedded database';
  console.log(`bench/dispatch: ${RUNS} interleaved runs, image ${IMAGE}, scheduler on ${database}, one local agent`);
  printRow("create task 'true' --wait", samples.tapitTrue, samples.dockerTrue);
  printRow('time to first [app] line', samples.tapitFirst, samples.dockerFirst);
  printRow("API create + follow 'true'", samples.api, samples.dockerTrue);
  printRow("bare Node client 'true'", samples.bare, samples.dockerTrue);
  const cli = summarise(samples.cli);
  const node = summarise(samples.node);
  console.log(`CLI process alone (tapit list agents): median ${cli.median.toFixed(0)} ms, p90 ${cli.p90.toFixed(0)} ms — Node + oclif start-up and one request`);
  console.log(`Node alone (node -e ''): median ${node.median.toFixed(0)} ms, p90 ${node.p90.toFixed(0)} ms — the floor of any Node CLI here`);
  if (extraCaCerts) {
    const bare = summarise(samples.nodeBare);
    console.log(`  of which NODE_EXTRA_CA_CERTS (set here: ${extraCaCerts}): without it ${bare.median.toFixed(0)} ms, p90 ${bare.p90.toFixed(0)} ms`);
  }
} finally {
  await tapit.stop();
}
