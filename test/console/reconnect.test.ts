import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { freePort, startScheduler, type RunningScheduler } from '../support/scheduler.js';
import { startSystem, type System } from '../support/system.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { startTmux, type Tmux } from '../support/tmux.js';
import { CLI_FAILED, expectSaneTerminal, localExitCode, printedId, remoteReady } from './support.js';

/*
 * The CLI reconnects a console by itself (`tapit run`): the agent is held by replica A, the CLI
 * talks to replica B through a TCP proxy. The link is cut (a blip), or B is killed and started
 * again; the terminal stays raw, a status line shows, and once back the output printed while the
 * link was down is shown once, what was typed meanwhile reaches the program, and the exit code
 * is the program's.
 */
const SECRET_KEY = randomBytes(32).toString('base64');
let system: System;
let replicaB: RunningScheduler;
let portB: number;
let proxy: TcpProxy;
let tmux: Tmux;

const why = () => `${system.output()}\n--- replica B ---\n${replicaB?.output() ?? ''}`;
const startB = () => startScheduler({ TAPIT_SECRET_KEY: SECRET_KEY, TAPIT_AGENT_JOIN_TOKEN: system.joinToken }, { databaseUrl: system.db.url, token: system.scheduler.token, port: portB });
/** How often `text` is on the screen and in its history. */
const count = async (text: RegExp) => ((await tmux.screen(500)).match(new RegExp(text.source, 'gm')) ?? []).length;
const STATUS = /\[tapit\] connection lost, reconnecting \(\d+s\)…/;

beforeAll(async () => {
  system = await startSystem({ schedulerEnv: { TAPIT_SECRET_KEY: SECRET_KEY }, agentEnv: { TAPIT_CONSOLE_GRACE_SECONDS: '120' } });
  portB = await freePort();
  replicaB = await startB();
  proxy = await startTcpProxy({ port: portB });
}, HOOK_TIMEOUT_MS);
afterAll(async () => {
  await proxy?.close();
  await replicaB?.stop();
  await system?.stop();
}, HOOK_TIMEOUT_MS);
afterEach(async () => {
  await tmux?.kill();
}, HOOK_TIMEOUT_MS);

/** `tapit run sh` through the proxy, up to a remote prompt that answered. */
async function console(tag: string): Promise<string> {
  tmux = await startTmux({ ...system.env, TAPIT_URL: proxy.url });
  await tmux.line('tapit run sh');
  const id = await printedId(tmux);
  await remoteReady(tmux, tag);
  await tmux.line('echo before-$((1+1))');
  await tmux.waitFor(/^before-2/m, 20_000, CLI_FAILED);
  // Printed by the remote shell while the link is down (it sleeps past the cut first). Its echo
  // shows it reached the shell before the link goes.
  await tmux.line('sleep 2; echo during-$((2+4))');
  await tmux.waitFor(/sleep 2; echo during/, 20_000, CLI_FAILED);
  return id;
}

/** After the link is back: the missed output once, then what was typed during the outage. */
async function expectReplayedOnce(): Promise<void> {
  await tmux.waitFor(/^during-6/m, 30_000, CLI_FAILED);
  await tmux.waitFor(/^typed-8/m, 20_000, CLI_FAILED);
  await tmux.line('echo after-$((3*3))');
  await tmux.waitFor(/^after-9/m, 20_000, CLI_FAILED);
  const screen = await tmux.screen(500);
  expect(await count(/^before-2/), screen).toBe(1);
  expect(await count(/^during-6/), screen).toBe(1);
  expect(await count(/^typed-8/), screen).toBe(1);
  // The status line went away once the console was back.
  expect(screen).not.toMatch(STATUS);
}

describe('tapit run reconnects by itself', () => {
  it('through a network blip (the link cut and refused for a while)', async () => {
    await console('blip');
    // Keys in flight when the link breaks: the proxy holds them, then the link is cut with them.
    proxy.freeze();
    await tmux.line('echo inflight-$((5*5))');
    await new Promise((resolve) => setTimeout(resolve, 500));
    proxy.block();
    proxy.thaw();
    await tmux.waitFor(STATUS, 20_000);
    // Typed while the link is down: held, and sent once it is back.
    await tmux.line('echo typed-$((4*2))');
    await new Promise((resolve) => setTimeout(resolve, 3000));
    proxy.unblock();
    await expectReplayedOnce();
    // Sent again once the link was back, and run once.
    expect(await count(/^inflight-25/), await tmux.screen(500)).toBe(1);
    await tmux.line('exit 7');
    expect(await localExitCode(tmux), `${await tmux.screen(200)}\n${why()}`).toBe(7);
    await expectSaneTerminal(tmux);
  });

  it('through a restart of the replica it was connected to (killed, then started again)', async () => {
    const id = await console('restart');
    await replicaB.kill();
    await tmux.waitFor(STATUS, 20_000);
    await tmux.line('echo typed-$((4*2))');
    replicaB = await startB();
    await expectReplayedOnce();
    await tmux.line('exit 5');
    expect(await localExitCode(tmux), `${await tmux.screen(200)}\n${why()}`).toBe(5);
    await expectSaneTerminal(tmux);
    const task = await system.waitForTask(id, (t) => t.status === 'STOPPED');
    expect(task).toMatchObject({ status: 'STOPPED', exitCode: 5 });
  });
});
