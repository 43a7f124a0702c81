import { randomBytes } from 'node:crypto';
import { AgentFrame, ApiErrorBody, PROTOCOL_VERSION, SchedulerFrame } from '@tapit/protocol';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, expectStatus } from '../support/fuzz/api.js';
import { encodeAction, frameActions, retarget, type FrameAction } from '../support/fuzz/frame-actions.js';
import { FuzzSocket, isRefused } from '../support/fuzz/fuzz-socket.js';
import { checkWithin, fuzzBudget, FUZZ_SCHEDULER_ENV } from '../support/fuzz/fuzz-run.js';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { startSystem, type System } from '../support/system.js';

/*
 * RELIABILITY.md scenario 16, agent side: connections to the agent websocket send frames
 * generated from the protocol's AgentFrame (valid, broken, not JSON, binary, past the size
 * bound, in any order: logs before hello, exits for unknown tasks and for another agent's,
 * repeated hellos) to the built scheduler, while a real agent runs a task beside them. A bad
 * frame closes only its own connection, never with an internal error; the scheduler lives on;
 * the real agent is never disturbed and its tasks run to their end.
 */

let system: System;
let wsUrl: string;
let steadyTask: string;
/** The scheduler's output already checked for internal errors. */
let checkedOutput = 0;

/** Tasks too big for the real agent (1 vCPU): only a fuzzing agent that offers room gets them. */
const BIG_TASK = { args: ['true'], cpu: 8, memoryGb: 0.1 };

beforeAll(async () => {
  system = await startSystem({ agentEnv: { TAPIT_AGENT_CPU: '1', TAPIT_AGENT_MEMORY_GB: '2' }, schedulerEnv: FUZZ_SCHEDULER_ENV });
  wsUrl = `${system.scheduler.url.replace(/^http/, 'ws')}/v1/agents/connect`;
  // A task on the real agent for the whole run: it must still be running, and logging, after.
  const task = await expectStatus(system.scheduler, 201, 'POST', '/v1/projects/default/stages/default/apps/web/tasks', {
    command: 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.5; done',
    cpu: 0.25,
    memoryGb: 0.25,
  });
  steadyTask = task.id;
  const running = await system.waitForTask(steadyTask, (t) => t.status === 'RUNNING');
  if (running.status !== 'RUNNING') throw new Error(`the real agent's task is ${running.status}\n${system.output()}`);
}, HOOK_TIMEOUT_MS);

afterAll(() => system?.stop(), HOOK_TIMEOUT_MS);

/** Close codes a bad frame may end its connection with: ours (4xxx) and the websocket's own for a bad message. */
const EXPECTED_CLOSE = new Set([1000, 1002, 1005, 1006, 1007, 1009, 4400, 4401, 4408, 4409, 4410, 4426]);

/** New lines of the scheduler's output that say something went wrong inside it. */
function internalErrors(): string[] {
  const output = system.scheduler.output();
  const fresh = output.slice(checkedOutput);
  checkedOutput = output.length;
  return fresh.split('\n').filter((line) => /agent connection error|internal error|uncaught|unhandled/i.test(line));
}

interface Run {
  auth: 'join' | 'none' | 'wrong' | 'long';
  hello: boolean;
  generatedHello: FrameAction | null;
  steps: { action: FrameAction; target: 'own' | 'foreign' | 'random' }[];
}

describe('the agent websocket, fuzzed from the protocol schemas', () => {
  const budget = fuzzBudget(200, 300_000);

  it(
    `survives ${budget.numRuns} connections of generated agent frames; each bad one closes only its own connection; the real agent and its task carry on`,
    async () => {
      const tally = { refused: 0, welcomed: 0, owned: 0, badFrameCloses: 0, frames: 0 };
      const actions = frameActions(AgentFrame, { dictionary: [steadyTask], weights: { frame: 30, mutated: 20, text: 5, binary: 5, huge: 2 }, hugeBytes: 4 * 1024 * 1024 });
      const run: fc.Arbitrary<Run> = fc.record({
        auth: fc.constantFrom('join', 'join', 'join', 'join', 'join', 'join', 'join', 'none', 'wrong', 'long'),
        // Half start with a proper hello, so what follows reaches the handlers behind it.
        hello: fc.boolean(),
        // The others often open with a hello of the schema's making (any name, capacity, tasks).
        generatedHello: fc.option(frameActions(AgentFrame, { types: ['hello'], weights: { frame: 2, mutated: 1, text: 0, binary: 0 } }), { freq: 2 }),
        steps: fc.array(fc.record({ action: actions, target: fc.constantFrom('own', 'foreign', 'random') }), { minLength: 1, maxLength: 6 }),
      });

      await checkWithin(
        fc.asyncProperty(run, async ({ auth, hello, generatedHello, steps }) => {
          const header = { join: `Bearer ${system.joinToken}`, none: '', wrong: 'Bearer wrong-join-token', long: `Bearer ${'j'.repeat(8000)}` }[auth];
          const opened = await FuzzSocket.open(wsUrl, header ? { authorization: header } : {});
          if (isRefused(opened)) {
            tally.refused++;
            if (auth === 'join') throw new Error(`the join token was refused: ${opened.status} ${opened.body}`);
            if (opened.status >= 500 || opened.status < 400 || !ApiErrorBody.safeParse(JSON.parse(opened.body || 'null')).success) {
              throw new Error(`upgrade refused with ${opened.status} ${opened.body}`);
            }
            return;
          }
          if (auth !== 'join') throw new Error(`an upgrade with a ${auth} token was accepted`);
          const socket = opened;
          const agentName = `fuzz-${randomBytes(5).toString('hex')}`;
          let own: string | undefined;
          // What this connection sent, for a failure message.
          const sent: string[] = [];
          const story = () => `sent (${auth} token, ${hello ? 'a proper hello first' : 'no hello first'}):\n${sent.join('\n')}\nreceived:\n${socket.texts.map((t) => t.slice(0, 300)).join('\n')}`;
          try {
            if (hello) {
              // Room for one big task, so this connection owns a task to report on.
              await expectStatus(system.scheduler, 201, 'POST', '/v1/projects/default/stages/default/apps/web/tasks', BIG_TASK);
              const credential = randomBytes(32).toString('base64url');
              await socket.send(JSON.stringify({ type: 'hello', protocolVersion: PROTOCOL_VERSION, agentName, agentVersion: 'fuzz', capacity: { cpu: 8, memoryGb: 1 }, tasks: [], credential }));
              const welcomed = await socket.until(() => socket.json().some((f) => f.type === 'welcome'), 10_000);
              if (!welcomed) throw new Error(`no welcome for a proper hello: ${socket.texts.join('\n')}`);
              tally.welcomed++;
              await socket.until(() => socket.json().some((f) => f.type === 'task.assign'), 2_000);
              own = (socket.json().find((f) => f.type === 'task.assign')?.task as { taskId?: string } | undefined)?.taskId;
              if (own) tally.owned++;
            }
            if (!hello && generatedHello) steps = [{ action: generatedHello, target: 'random' }, ...steps];
            let n = 0;
            const ids = { own: own ?? steadyTask, foreign: steadyTask, random: '' };
            for (const { action, target } of steps) {
              const value = action.kind === 'frame' && target !== 'random' ? retarget(action.value, () => ids[target]) : undefined;
              const { data, binary } = encodeAction(action, value);
              sent.push(binary ? `binary ${(data as Buffer).toString('hex').slice(0, 100)}` : `${(data as string).slice(0, 1500)}${data.length > 1500 ? `… (${data.length} characters)` : ''}`);
              await socket.send(data, binary);
              tally.frames++;
              n++;
            }
            // Everything sent before a frame the scheduler answers has been handled when it answers.
            if (own && socket.isOpen) {
              const acks = () => socket.json().filter((f) => f.type === 'task.log.ack' && f.taskId === own).length;
              const before = acks();
              await socket.send(JSON.stringify({ type: 'task.log', taskId: own, seq: 1, lines: [{ stream: 'stdout', text: `sync ${n}`, at: new Date().toISOString() }] }));
              await socket.until(() => acks() > before, 10_000);
            }
          } finally {
            const end = socket.isOpen ? await socket.close() : await socket.closed;
            if (!EXPECTED_CLOSE.has(end.code)) throw new Error(`connection closed with ${end.code} ${end.reason}\n${story()}\nscheduler:\n${internalErrors().join('\n')}`);
            if (end.code === 4400) tally.badFrameCloses++;
          }
          // Everything the scheduler said was a frame of the protocol.
          for (const text of socket.texts) {
            if (!SchedulerFrame.safeParse(JSON.parse(text)).success) throw new Error(`the scheduler sent a frame outside the protocol: ${text.slice(0, 500)}\n${story()}`);
          }
          const errors = internalErrors();
          if (errors.length > 0) throw new Error(`the scheduler failed inside:\n${errors.join('\n')}\n${story()}`);
          if (system.scheduler.process.exitCode !== null || system.scheduler.process.signalCode !== null) throw new Error(`the scheduler exited\n${system.output()}`);
        }),
        budget,
      );

      const summary = JSON.stringify(tally);
      // The runs reached past the handshake, into tasks they own, and into refusals.
      if (budget.full) {
        expect(tally.welcomed, summary).toBeGreaterThan(budget.numRuns / 6);
        expect(tally.owned, summary).toBeGreaterThan(budget.numRuns / 12);
        expect(tally.badFrameCloses, summary).toBeGreaterThan(0);
        expect(tally.refused, summary).toBeGreaterThan(0);
      }

      // The real agent never lost its connection, and its task ran all along and still runs.
      const connects = system.scheduler.output().split('\n').filter((line) => line.includes(`agent ${system.agent.name} connected`));
      expect(connects, system.output()).toHaveLength(1);
      const agents = (await api(system.scheduler, 'GET', '/v1/agents')).body.items as { name: string; status: string }[];
      expect(agents.find((a) => a.name === system.agent.name)?.status).toBe('online');
      expect((await system.task(steadyTask)).status).toBe('RUNNING');
      const ticks = (await system.logs(steadyTask)).filter((l) => l.stream === 'stdout').length;
      expect(ticks).toBeGreaterThan(3);
      await expectStatus(system.scheduler, 202, 'POST', `/v1/tasks/${steadyTask}/stop`);
      const stopped = await system.waitForTask(steadyTask, (t) => t.status === 'STOPPED');
      expect(stopped, system.output()).toMatchObject({ status: 'STOPPED', stopCode: 'USER_STOPPED' });

      // A new task runs on it to its end, and the API answers as before.
      const after = await expectStatus(system.scheduler, 201, 'POST', '/v1/projects/default/stages/default/apps/web/tasks', { command: 'echo after-fuzz', cpu: 0.25, memoryGb: 0.25 });
      const done = await system.waitForTask(after.id, (t) => t.status === 'STOPPED');
      expect(done, system.output()).toMatchObject({ status: 'STOPPED', stopCode: 'EXITED', exitCode: 0, agent: system.agent.name });
      expect((await system.logs(after.id)).map((l) => l.text)).toContain('after-fuzz');
      expect((await api(system.scheduler, 'GET', '/v1/tasks?limit=5')).status).toBe(200);
    },
    budget.timeoutMs,
  );
});
