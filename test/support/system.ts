import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogPage, Task } from '@tapit/protocol';
import { startAgent, TEST_IMAGE, type RunningAgent } from './agent.js';
import { apiCaller } from './api-caller.js';
import { cliEnv, runCli, startCli, type CliProcess, type CliResult } from './cli.js';
import { createDatabase, type FreshDatabase } from './postgres.js';
import { startScheduler, type RunningScheduler } from './scheduler.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

/**
 * The whole system as a user runs it: a fresh Postgres database, the built `tapit-scheduler` on
 * it, one built `tapit-agent` on the local Docker engine (network `none`), and the built `tapit`
 * CLI with its own config folder, pointed at an app.
 */
export interface System {
  db: FreshDatabase;
  scheduler: RunningScheduler;
  agent: RunningAgent;
  /** The proxy the agent dials the scheduler through, with `agentThroughProxy`. */
  agentLink: TcpProxy | undefined;
  joinToken: string;
  /** The CLI's environment: TAPIT_URL, TAPIT_TOKEN, TAPIT_APP, a config folder of its own. */
  env: Record<string, string>;
  /** Runs `tapit ARGS` to its end. */
  tapit(...args: string[]): Promise<CliResult>;
  /** Runs `tapit ARGS` with a longer time limit. */
  tapitWithin(timeoutMs: number, ...args: string[]): Promise<CliResult>;
  /** Starts `tapit ARGS` without waiting for it. */
  startTapit(args: string[], timeoutMs?: number): CliProcess;
  /** `GET /v1/PATH` as the admin token: the answer's JSON (a status of 300 or more throws). */
  api(path: string): Promise<unknown>;
  /** The task as `tapit show task task=ID --json` prints it, read from the API. */
  task(id: string): Promise<Task>;
  /** `tapit show logs task=ID --json`, parsed. */
  logs(id: string): Promise<LogPage['lines']>;
  /** Polls the task until `done(task)` or the time is up; returns the last task seen. */
  waitForTask(id: string, done: (task: Task) => boolean, timeoutMs?: number): Promise<Task>;
  /** Kills the agent with SIGKILL; its state folder and containers stay. */
  killAgent(): Promise<void>;
  /** Starts the agent again with the same name and state folder. */
  restartAgent(): Promise<void>;
  /**
   * SIGTERM (or `signal`) to the scheduler, `downMs` of nothing, then it starts again on the same
   * database, port and token (with `env` over its settings, e.g. a rotated TAPIT_SECRET_KEY).
   */
  restartScheduler(downMs?: number, signal?: 'SIGTERM' | 'SIGKILL', env?: Record<string, string>): Promise<void>;
  /** Everything the scheduler and agent printed, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

export interface SystemOptions {
  /** The app TAPIT_APP points at, created with this image (default TEST_IMAGE). */
  app?: { name: string; image?: string };
  /** More environment for the agent (e.g. skewedClockEnv, support/faketime.ts). */
  agentEnv?: Record<string, string>;
  /** More scheduler settings, e.g. a short TAPIT_AGENT_LOST_GRACE_SECONDS. */
  schedulerEnv?: Record<string, string>;
  /** The agent dials the scheduler through a TCP proxy (`agentLink`), for network faults. */
  agentThroughProxy?: boolean;
}

/** `ID: <32 hex>` as `create task` and `task:run` print it. */
export function idFrom(stdout: string): string {
  return /^ID:\s+([0-9a-f]{32})$/m.exec(stdout)?.[1] ?? '';
}

/** A log line as the CLI prints it: `2021-03-17 09:58:34 [app] text`. */
export const LOG_LINE = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) \[(app|system)\] (.*)$/;

/** The `[app]` texts of printed CLI output, in order. */
export function appLines(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((line) => LOG_LINE.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && m[2] === 'app')
    .map((m) => m[3]!);
}

export async function startSystem(options: SystemOptions = {}): Promise<System> {
  const appName = options.app?.name ?? 'web';
  const joinToken = `join-${randomBytes(16).toString('hex')}`;
  const agentName = `e2e-${randomBytes(4).toString('hex')}`;
  const stateDir = await mkdtemp(join(tmpdir(), 'tapit-e2e-agent-'));
  const configHome = await mkdtemp(join(tmpdir(), 'tapit-e2e-cli-'));
  const db = await createDatabase();
  let scheduler: RunningScheduler | undefined;
  let agent: RunningAgent | undefined;
  let agentLink: TcpProxy | undefined;
  let past = '';
  const agentOptions = { stateDir, env: options.agentEnv };
  // The agent dials through the proxy; everything else talks to the scheduler directly.
  const agentTarget = () => (agentLink ? { url: agentLink.url, token: scheduler!.token } : scheduler!);
  const output = () => `${past}--- scheduler ---\n${scheduler?.output() ?? ''}\n--- agent ---\n${agent?.output() ?? ''}`;
  const stop = async () => {
    await agent?.stop();
    await agentLink?.close();
    await scheduler?.stop();
    await db.drop();
    await rm(stateDir, { recursive: true, force: true });
    await rm(configHome, { recursive: true, force: true });
  };
  try {
    scheduler = await startScheduler({ TAPIT_AGENT_JOIN_TOKEN: joinToken, ...options.schedulerEnv }, { databaseUrl: db.url });
    if (options.agentThroughProxy) agentLink = await startTcpProxy({ port: scheduler.port });
    agent = await startAgent(agentTarget(), joinToken, agentName, agentOptions);
  } catch (error) {
    await stop();
    throw error;
  }
  const env = { ...cliEnv(scheduler, configHome), TAPIT_APP: appName };
  const tapitWithin = (timeoutMs: number, ...args: string[]) => runCli(args, { env, timeoutMs });
  const tapit = (...args: string[]) => tapitWithin(30_000, ...args);
  const json = async (args: string[]) => {
    const result = await tapit(...args);
    if (result.code !== 0) throw new Error(`tapit ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
    return JSON.parse(result.stdout) as unknown;
  };
  const api = (path: string): Promise<unknown> => apiCaller(scheduler!.url, scheduler!.token)('GET', `/v1/${path}`);
  // From the API, not `tapit show task --json` (the same object): waits poll it every 250 ms,
  // and a CLI process per read (~0.4 s of CPU each) was most of what this suite spent. The CLI's
  // own `show task` has its tests (cli/tasks.test.ts).
  const task = async (id: string) => Task.parse(await api(`tasks/${encodeURIComponent(id)}`));
  const system: System = {
    db,
    get scheduler() {
      return scheduler!;
    },
    get agent() {
      return agent!;
    },
    get agentLink() {
      return agentLink;
    },
    joinToken,
    env,
    tapit,
    tapitWithin,
    api,
    startTapit: (args, timeoutMs = 60_000) => startCli(args, { env, timeoutMs }),
    task,
    logs: async (id) => LogPage.pick({ lines: true }).parse(await json(['show', 'logs', `task=${id}`, '--json'])).lines,
    async waitForTask(id, done, timeoutMs = 45_000) {
      const deadline = Date.now() + timeoutMs;
      let last = await task(id);
      while (!done(last) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        last = await task(id);
      }
      return last;
    },
    async killAgent() {
      await agent!.kill('SIGKILL');
      past += `--- agent before kill -9 ---\n${agent!.output()}\n`;
    },
    async restartAgent() {
      agent = await startAgent(agentTarget(), joinToken, agentName, agentOptions);
    },
    async restartScheduler(downMs = 0, signal = 'SIGTERM', env = {}) {
      const old = scheduler!;
      await (signal === 'SIGKILL' ? old.kill() : old.stop());
      past += `--- scheduler before restart ---\n${old.output()}\n`;
      await new Promise((resolve) => setTimeout(resolve, downMs));
      scheduler = await startScheduler({ TAPIT_AGENT_JOIN_TOKEN: joinToken, ...options.schedulerEnv, ...env }, { databaseUrl: db.url, port: old.port, token: old.token });
    },
    output,
    stop,
  };
  const created = await tapit('create', 'app', appName, `image=${options.app?.image ?? TEST_IMAGE}`);
  if (created.code !== 0) {
    await stop();
    throw new Error(`tapit create app failed: ${created.stderr}`);
  }
  return system;
}
