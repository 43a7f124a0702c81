import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanEnv, REPO_ROOT, terminate } from './repo.js';

/** The image scripts/build-test-images.sh builds locally (no registry is reachable in tests). */
export const TEST_IMAGE = 'tapit-test/busybox:latest';

export interface RunningAgent {
  name: string;
  /** Its TAPIT_AGENT_STATE_DIR. */
  stateDir: string;
  pid: number;
  output(): string;
  /**
   * SIGTERM (SIGKILL after 10 s), then removes the containers it left running (an agent leaves
   * them for its next start) and the state folder unless the caller gave it.
   */
  stop(): Promise<void>;
  /** Sends `signal` (default SIGKILL) to this process and waits for it to end; the state folder stays. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface AgentOptions {
  /** Use this state folder (e.g. a killed agent's, to start it again); the caller removes it. */
  stateDir?: string;
  /** More environment for the agent. */
  env?: Record<string, string>;
  /** Return once started, without waiting to see it online (an agent expected to be refused). */
  noWait?: boolean;
}

/**
 * Starts the built `tapit-agent` with a join token (the scheduler's TAPIT_AGENT_JOIN_TOKEN, or
 * one made with `tapit create join-token`) and waits until the scheduler lists it online. At
 * first contact it registers its own credential in its state folder, so started again on the
 * same folder it comes back as the same agent. Task containers get no network, for speed.
 */
export async function startAgent(
  scheduler: { url: string; token: string },
  joinToken: string,
  name = `agent-${process.pid}`,
  options: AgentOptions = {},
): Promise<RunningAgent> {
  const ownStateDir = options.stateDir === undefined;
  const stateDir = options.stateDir ?? (await mkdtemp(join(tmpdir(), 'tapit-agent-')));
  const child: ChildProcess = spawn(process.execPath, [join(REPO_ROOT, 'packages/agent/bin/tapit-agent.js')], {
    cwd: REPO_ROOT,
    // The human lines, as on a terminal (tests read them); piped, the agent would write JSON.
    env: cleanEnv({
      TAPIT_LOG_FORMAT: 'pretty',
      TAPIT_SCHEDULER_URL: scheduler.url,
      TAPIT_AGENT_TOKEN: joinToken,
      TAPIT_AGENT_NAME: name,
      TAPIT_AGENT_STATE_DIR: stateDir,
      TAPIT_AGENT_NETWORK: 'none',
      ...options.env,
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    await terminate(child, exited);
    removeContainersOf(name);
    if (ownStateDir) await rm(stateDir, { recursive: true, force: true });
  };
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      await exited;
    }
  };
  const running = () => ({ name, stateDir, pid: child.pid!, output: () => output, stop, kill });
  if (options.noWait) return running();
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    const response = await fetch(`${scheduler.url}/v1/agents`, { headers: { authorization: `Bearer ${scheduler.token}` } }).catch(() => null);
    const body = response?.ok ? ((await response.json()) as { items: { name: string; status: string }[] }) : { items: [] };
    if (body.items.some((agent) => agent.name === name && agent.status === 'online')) return running();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stop();
  throw new Error(`the agent did not come online\n--- agent output ---\n${output}`);
}

/** Removes every container labelled as this agent's (test agents have names of their own). */
export function removeContainersOf(agentName: string): void {
  const ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=tapit.agent=${agentName}`]).toString().split('\n').filter(Boolean);
  if (ids.length > 0) execFileSync('docker', ['rm', '-f', ...ids], { stdio: 'ignore' });
}
