import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { startScheduler, type RunningScheduler } from '../support/scheduler.js';
import { appLines, idFrom, startSystem, type System } from '../support/system.js';
import { startTmux, type Tmux } from '../support/tmux.js';
import { CLI_FAILED, localExitCode, printedId, remoteReady } from '../console/support.js';

/*
 * Two scheduler replicas on one Postgres, the agent connected to A, the CLI pointed at B: a
 * console, an exec, a log follow and a copy all work, B relaying to A (replicas/ in the
 * scheduler). Both replicas share TAPIT_SECRET_KEY, as replicas on one database must.
 */
const SECRET_KEY = randomBytes(32).toString('base64');
let system: System;
let replicaB: RunningScheduler;
let env: Record<string, string>;
let tmux: Tmux;
/** A running background task (its agent held by A) for the exec, the copy and the refusals. */
let background: string;

const tapit = (...args: string[]) => runCli(args, { env, timeoutMs: 30_000 });
const why = () => `${system.output()}\n--- replica B ---\n${replicaB?.output() ?? ''}`;

async function runningTask(command: string): Promise<string> {
  const created = await tapit('create', 'task', command);
  expect(created.code, created.stderr).toBe(0);
  const id = idFrom(created.stdout);
  // Past placement and its start: a task just created is PROVISIONING until placed.
  expect((await system.waitForTask(id, (t) => t.status !== 'PROVISIONING' && t.status !== 'PENDING')).status, why()).toBe('RUNNING');
  return id;
}

beforeAll(async () => {
  system = await startSystem({ schedulerEnv: { TAPIT_SECRET_KEY: SECRET_KEY } });
  replicaB = await startScheduler({ TAPIT_SECRET_KEY: SECRET_KEY, TAPIT_AGENT_JOIN_TOKEN: system.joinToken }, { databaseUrl: system.db.url, token: system.scheduler.token });
  env = { ...system.env, TAPIT_URL: replicaB.url };
  background = await runningTask('sh -c "echo copied-through-b > /tmp/f; sleep 600"');
}, HOOK_TIMEOUT_MS);
afterAll(async () => {
  if (background) await tapit('task:stop', background);
  await replicaB?.stop();
  await system?.stop();
}, HOOK_TIMEOUT_MS);

describe('a replica without the agent serves it all, relayed to the replica holding it', () => {
  beforeEach(async () => {
    tmux = await startTmux(env);
  }, HOOK_TIMEOUT_MS);
  afterEach(async () => {
    await tmux?.kill();
  }, HOOK_TIMEOUT_MS);

  it('tapit run: the console through B, typed input echoed, the exit code back', async () => {
    await tmux.line('tapit run sh');
    const id = await printedId(tmux);
    await remoteReady(tmux, 'b');
    await tmux.line('echo via-b-$((6*7))');
    await tmux.waitFor(/^via-b-42/m, 20_000, CLI_FAILED);
    await tmux.line('exit 7');
    expect(await localExitCode(tmux), `${await tmux.screen(200)}\n${why()}`).toBe(7);
    // B relayed and recorded the session: it is listed with its end.
    const list = await tapit('list', 'consoles', `task=${id}`, '--json');
    expect(JSON.parse(list.stdout).items, why()).toEqual([expect.objectContaining({ mode: 'attach', exitCode: 7, endReason: 'exited' })]);
  });

  it('tapit task:attach ID -- CMD: an exec into a running task through B, stdin in, the exit code back', async () => {
    const cat = await runCli(['task:attach', background, '--', 'sh', '-c', 'cat; exit 4'], { env, timeoutMs: 30_000, input: 'relayed-in\n' });
    expect(cat, why()).toMatchObject({ code: 4, stdout: 'relayed-in\n' });
  });

  it('show logs --follow through B: what the task prints on the agent held by A, to its end', async () => {
    // Long enough to be followed while it runs, however slow the machine.
    const id = await runningTask(`sh -c 'sleep 2; for i in 1 2 3 4 5 6; do echo line-$i; sleep 0.5; done'`);
    const followed = await runCli(['show', 'logs', `task=${id}`, '--follow'], { env, timeoutMs: 30_000 });
    expect(followed.code, followed.stderr).toBe(0);
    expect(appLines(followed.stdout)).toEqual(['line-1', 'line-2', 'line-3', 'line-4', 'line-5', 'line-6']);
  });

  it('tapit cp through B: a file of the container, whole', async () => {
    const id = background;
    const out = await mkdtemp(join(tmpdir(), 'tapit-replicas-cp-'));
    try {
      await expect.poll(async () => (await tapit('cp', `${id}:/tmp/f`, join(out, 'f'))).code, { timeout: 10_000 }).toBe(0);
      expect(await readFile(join(out, 'f'), 'utf8')).toBe('copied-through-b\n');
      // A refusal by the agent comes back through the relay in its own words.
      const missing = await tapit('cp', `${id}:/no/such/file`, join(out, 'x'));
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/^Error: .*\/no\/such\/file/m);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it('refuses a relay without the replicas\' credential: a user token does not open it', async () => {
    const id = background;
    for (const bearer of [system.scheduler.token, 'x'.repeat(64)]) {
      const ws = new WebSocket(`${system.scheduler.url.replace('http', 'ws')}/v1/replicas/copies/${'a'.repeat(32)}?task=${id}&path=/etc/hostname`, { headers: { authorization: `Bearer ${bearer}` } });
      const status = await new Promise<number>((resolve) => {
        ws.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
        ws.once('open', () => resolve(101));
        ws.once('error', () => resolve(-1));
      });
      ws.terminate();
      expect(status).toBe(401);
    }
  });
});
