import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsoleClientFrame, SchedulerFrame } from '@tapit/protocol';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The agent's own fake scheduler: a real websocket server that speaks the protocol and records.
import { FakeScheduler, waitFor, type FakeConsoleStream } from '../../packages/agent/src/testing/fake-scheduler.js';
import { removeContainersOf, TEST_IMAGE } from '../support/agent.js';
import { encodeAction, frameActions, retarget, type FrameAction } from '../support/fuzz/frame-actions.js';
import { checkWithin, fuzzBudget } from '../support/fuzz/fuzz-run.js';
import { cleanEnv, HOOK_TIMEOUT_MS, REPO_ROOT } from '../support/repo.js';

/*
 * RELIABILITY.md scenario 16, the agent's side: a fake scheduler sends the built agent frames
 * generated from the protocol's SchedulerFrame (valid, broken, not JSON, binary, past the size
 * bound, out of order: a second welcome, stops and acks for tasks it never had), and console
 * client frames on the streams the agent dials back. The agent never exits, drops only the
 * connection a bad frame came on, dials again, and still runs a task to its end afterwards.
 */

const agentName = `fuzz-agent-${randomBytes(4).toString('hex')}`;
let scheduler: FakeScheduler;
let agent: ChildProcess;
let output = '';
let stateDir: string;

/**
 * Images an assignment may name: the local test image, and a registry on a closed loopback port
 * (a pull that fails at once). Any other name could make the engine reach out past this machine.
 */
const SAFE_IMAGES = [TEST_IMAGE, '127.0.0.1:1/fuzz/nothing:1'];

beforeAll(async () => {
  scheduler = new FakeScheduler({ heartbeatIntervalMs: 1000 });
  const url = await scheduler.listen();
  stateDir = await mkdtemp(join(tmpdir(), 'tapit-fuzz-agent-'));
  agent = spawn(process.execPath, [join(REPO_ROOT, 'packages/agent/bin/tapit-agent.js')], {
    cwd: REPO_ROOT,
    env: cleanEnv({
      TAPIT_SCHEDULER_URL: url,
      TAPIT_AGENT_TOKEN: 'fuzz-join-token',
      TAPIT_AGENT_NAME: agentName,
      TAPIT_AGENT_STATE_DIR: stateDir,
      TAPIT_AGENT_NETWORK: 'none',
      TAPIT_AGENT_STOP_GRACE_SECONDS: '1',
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  agent.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  agent.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  await waitFor('the agent says hello', () => scheduler.hellos.length > 0, 30_000);
}, HOOK_TIMEOUT_MS);

afterAll(async () => {
  if (agent && agent.exitCode === null && agent.signalCode === null) {
    agent.kill('SIGTERM');
    await new Promise((resolve) => agent.once('exit', resolve));
  }
  await scheduler?.close();
  removeContainersOf(agentName);
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
}, HOOK_TIMEOUT_MS);

const agentAlive = () => agent.exitCode === null && agent.signalCode === null;

/** Waits until the agent is connected and welcomed again (after a bad frame it dials anew). */
async function connected(): Promise<void> {
  await waitFor(`the agent connected\n${output.slice(-3000)}`, () => {
    if (!agentAlive()) throw new Error(`the agent exited (${agent.exitCode ?? agent.signalCode})\n${output.slice(-5000)}`);
    return scheduler.socket?.readyState === 1 && scheduler.hellos.length === scheduler.connections;
  }, 30_000);
}

/** Frames an agent gets: whatever the schema allows, but for a refusal that is meant to end it. */
function agentActions(): fc.Arbitrary<FrameAction> {
  return frameActions(SchedulerFrame, { weights: { frame: 12, mutated: 8, text: 2, binary: 2, huge: 1 }, hugeBytes: 16 * 1024 * 1024 }).filter(
    // `refused` UNSUPPORTED_PROTOCOL_VERSION ends the agent on purpose (it cannot speak to this scheduler).
    (a) => !(a.kind === 'frame' && a.type === 'refused' && a.value.code === 'UNSUPPORTED_PROTOCOL_VERSION'),
  );
}

/** Points a frame at tasks the agent has, and keeps any image it names to the safe ones. */
function aimed(value: unknown, ids: string[], pick: number): unknown {
  let n = pick;
  const out = retarget(value, () => ids[n++ % ids.length]!) as Record<string, unknown>;
  const task = out?.task as Record<string, unknown> | undefined;
  if (task && typeof task === 'object' && 'image' in task) task.image = SAFE_IMAGES[pick % SAFE_IMAGES.length];
  return out;
}

describe('the agent, fed generated scheduler frames', () => {
  const budget = fuzzBudget(150, 300_000);

  it(
    `lives through ${budget.numRuns} sequences of generated scheduler and console frames, dials again after each bad one, and still runs a task`,
    async () => {
      const tally = { reconnects: 0, consoles: 0, assigned: 0 };
      const run = fc.record({
        actions: fc.array(fc.tuple(agentActions(), fc.nat()), { minLength: 1, maxLength: 5 }),
        console: fc.array(frameActions(ConsoleClientFrame, { weights: { frame: 4, mutated: 4, text: 1, binary: 2, huge: 1 }, hugeBytes: 1024 * 1024 }), { maxLength: 4 }),
      });
      await checkWithin(
        fc.asyncProperty(run, async ({ actions, console: consoleActions }) => {
          await connected();
          const connections = scheduler.connections;
          // Tasks the agent was assigned (by this run or earlier ones), and one it never had.
          const ids = [...scheduler.frames.flatMap((f) => ('taskId' in f ? [f.taskId] : [])).slice(-5), randomBytes(16).toString('hex')];
          const sent: string[] = [];
          for (const [action, pick] of actions) {
            if (scheduler.socket?.readyState !== 1) break;
            const value = action.kind === 'frame' || action.kind === 'mutated' ? aimed(action.kind === 'frame' ? action.value : action.value, ids, pick) : undefined;
            const { data, binary } = encodeAction(action, value);
            if (action.kind === 'frame' && action.type === 'task.assign') tally.assigned++;
            sent.push(binary ? `binary ${(data as Buffer).toString('hex').slice(0, 80)}` : `${(data as string).slice(0, 300)}`);
            scheduler.socket.send(data, { binary });
          }
          // A console the agent dialled back for: feed it console frames.
          const streams: FakeConsoleStream[] = scheduler.consoleDialBacks.filter((s) => !s.closed);
          for (const stream of streams) {
            tally.consoles++;
            for (const action of consoleActions) {
              const { data, binary } = encodeAction(action);
              if (stream.ws.readyState === 1) stream.ws.send(data, { binary });
            }
            await stream.close().catch(() => undefined);
          }
          // Still alive, and talking to us: on the same connection, or on a new one after a bad frame.
          await new Promise((resolve) => setTimeout(resolve, 50));
          try {
            await connected();
          } catch (error) {
            throw new Error(`${(error as Error).message}\nsent:\n${sent.join('\n')}`);
          }
          if (scheduler.connections > connections) tally.reconnects++;
        }),
        budget,
      );
      expect(tally.reconnects, JSON.stringify(tally)).toBeGreaterThan(0);
      expect(tally.assigned, JSON.stringify(tally)).toBeGreaterThan(0);

      // After all that, an ordinary task runs to its end with its output.
      await connected();
      const taskId = randomBytes(16).toString('hex');
      scheduler.assign({
        taskId,
        image: TEST_IMAGE,
        command: ['echo', 'after-fuzz'],
        entrypoint: null,
        env: {},
        kind: 'background',
        resources: { cpu: 0.5, memoryGb: 0.25, maxHours: null, ephemeralStorageGb: null },
        startedAt: null,
        labels: {},
      });
      const exit = await waitFor('the task exits', () => scheduler.exits.get(taskId), 60_000);
      expect(exit, output.slice(-3000)).toMatchObject({ stopCode: 'EXITED', exitCode: 0 });
      await waitFor('its log', () => scheduler.lines(taskId).includes('after-fuzz'), 10_000);
      expect(agentAlive()).toBe(true);
    },
    budget.timeoutMs,
  );
});
