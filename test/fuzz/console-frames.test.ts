import { randomBytes } from 'node:crypto';
import { ApiErrorBody, ConsoleClientFrame, ConsoleServerFrame, OpenConsoleQuery, PROTOCOL_VERSION, decodeConsoleData, encodeConsoleData } from '@tapit/protocol';
import fc from 'fast-check';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus } from '../support/fuzz/api.js';
import { encodeAction, frameActions, type FrameAction } from '../support/fuzz/frame-actions.js';
import { FuzzSocket, isRefused, MAX_HEADER_BYTES } from '../support/fuzz/fuzz-socket.js';
import { checkWithin, fuzzBudget, FUZZ_SCHEDULER_ENV } from '../support/fuzz/fuzz-run.js';
import { hostileString } from '../support/fuzz/hostile-values.js';
import { mutatedValue, validValue } from '../support/fuzz/json-schema-arbitrary.js';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { startSystem, type System } from '../support/system.js';

/*
 * RELIABILITY.md scenario 16, console side: console and exec sessions opened with generated
 * queries and tokens, then fed generated console frames (ConsoleClientFrame, valid and broken,
 * stdin and odd channels as binary, not JSON); and, behind a fake agent, dial-back streams that
 * answer with generated ConsoleServerFrames. The built scheduler and a real agent on Docker: a
 * bad session closes only itself, no upgrade ends in a server error, nothing reaches a client
 * that is outside the protocol, and consoles work as before afterwards.
 */

let system: System;
let member: string;
let viewer: string;
let interactive: string;
let background: string;
let checkedOutput = 0;

const TASKS = '/v1/projects/default/stages/default/apps/web/tasks';
/** A console that no keystroke can end: signals from the terminal are ignored, stdin is never read. */
const UNENDING = 'trap "" INT TERM QUIT HUP TSTP TTIN TTOU; while true; do sleep 1; done';

beforeAll(async () => {
  system = await startSystem({ agentEnv: { TAPIT_AGENT_CPU: '1', TAPIT_AGENT_MEMORY_GB: '2' }, schedulerEnv: FUZZ_SCHEDULER_ENV });
  member = (await expectStatus(system.scheduler, 201, 'POST', '/v1/tokens', { name: 'fuzz-member', role: 'member' })).token;
  viewer = (await expectStatus(system.scheduler, 201, 'POST', '/v1/tokens', { name: 'fuzz-viewer', role: 'viewer' })).token;
  interactive = (await expectStatus(system.scheduler, 201, 'POST', TASKS, { command: UNENDING, kind: 'interactive', cpu: 0.25, memoryGb: 0.25 })).id;
  background = (await expectStatus(system.scheduler, 201, 'POST', TASKS, { command: UNENDING, cpu: 0.25, memoryGb: 0.25 })).id;
  for (const id of [interactive, background]) {
    const task = await system.waitForTask(id, (t) => t.status === 'RUNNING');
    if (task.status !== 'RUNNING') throw new Error(`task ${id} is ${task.status}\n${system.output()}`);
  }
}, HOOK_TIMEOUT_MS);

afterAll(() => system?.stop(), HOOK_TIMEOUT_MS);

/** New lines of the scheduler's or agent's output that say something failed inside. */
function internalErrors(): string[] {
  const output = system.output();
  const fresh = output.slice(checkedOutput);
  checkedOutput = output.length;
  return fresh.split('\n').filter((line) => /console upgrade:|console session of task|agent connection error|internal error|uncaught|unhandled/i.test(line));
}

function alive(): void {
  if (system.scheduler.process.exitCode !== null || system.scheduler.process.signalCode !== null) throw new Error(`the scheduler exited\n${system.output()}`);
  if (internalErrors().length > 0) throw new Error(`failed inside:\n${internalErrors().join('\n')}`);
}

/** What the scheduler sends a console client: control frames of the protocol, output on channels 1 and 2. */
function checkReceived(socket: FuzzSocket, story: () => string): void {
  for (const text of socket.texts) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`a console client got text that is not JSON: ${text.slice(0, 300)}\n${story()}`);
    }
    if (!ConsoleServerFrame.safeParse(json).success) throw new Error(`a console client got a frame outside the protocol: ${text.slice(0, 300)}\n${story()}`);
  }
  for (const bytes of socket.binaries) {
    const channel = decodeConsoleData(bytes)?.channel;
    if (channel !== 1 && channel !== 2) throw new Error(`a console client got a binary message on channel ${bytes[0]}\n${story()}`);
  }
}

/** Close codes a console session may end with: normal, the websocket's own for a bad message, cut. */
const EXPECTED_CLOSE = new Set([1000, 1005, 1006, 1007, 1009]);

/** Query strings for /console and /exec: described, broken, hostile. */
function queries(): fc.Arbitrary<string> {
  const schema = z.toJSONSchema(OpenConsoleQuery, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  const command = fc.oneof(
    fc.constantFrom('["echo","hi"]', '["true"]', '[]', '[""]', '["a\\u0000b"]', 'echo', '{"a":1}', JSON.stringify(Array.from({ length: 2000 }, () => 'x'))),
    hostileString().filter((s) => s.length < 2000),
  );
  const pairs = fc.oneof(
    validValue(schema).map((v) => ({ ...(v as Record<string, unknown>) })),
    mutatedValue(schema).map((v) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : { junk: v })),
  );
  return fc.tuple(pairs, fc.option(command, { freq: 2 })).map(([query, cmd]) => {
    const entries = Object.entries(query).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v) ?? ''] as [string, string]);
    if (cmd !== null) entries.push(['command', cmd]);
    return entries.length === 0 ? '' : `?${new URLSearchParams(entries).toString()}`;
  });
}

/** Client messages: control frames of the protocol (valid, broken), stdin and other channels, text that is not JSON. */
function clientActions(): fc.Arbitrary<FrameAction> {
  const stdin = fc.tuple(fc.constantFrom(0, 0, 0, 1, 2, 3, 255), fc.uint8Array({ maxLength: 64 })).map(([channel, bytes]): FrameAction => ({ kind: 'binary', bytes: Buffer.from(encodeConsoleData(0, bytes)).fill(channel, 0, 1) }));
  return fc.oneof({ arbitrary: frameActions(ConsoleClientFrame, { weights: { frame: 4, mutated: 4, text: 1, binary: 1, huge: 1 }, hugeBytes: 1024 * 1024 }), weight: 3 }, { arbitrary: stdin, weight: 2 });
}

describe('console streams, fuzzed from the protocol schemas', () => {
  const budget = fuzzBudget(150, 300_000);

  it(
    `survive ${budget.numRuns} console and exec sessions with generated queries, tokens and frames; consoles work as before afterwards`,
    async () => {
      const tally = { refused: 0, opened: 0, attached: 0 };
      // Most sessions as a user opens them, the others with one or two parts broken: the task
      // (a background one's console, an unknown or hostile reference), the query, the token.
      const broken = fc.oneof({ arbitrary: fc.constant<string[]>([]), weight: 3 }, { arbitrary: fc.subarray(['task', 'query', 'token'], { minLength: 1, maxLength: 2 }), weight: 2 });
      const run = fc
        .record({
          broken,
          mode: fc.constantFrom('console', 'exec'),
          execTask: fc.constantFrom('interactive', 'background'),
          badTask: fc.constantFrom('background', 'prefix', 'unknown', 'hostile'),
          validQuery: fc.constantFrom('?cols=80&rows=24', '?cols=120&rows=40&tty=1', `?tty=0&command=${encodeURIComponent('["echo","fuzz"]')}`, `?command=${encodeURIComponent('["cat"]')}`),
          badQuery: queries(),
          validToken: fc.constantFrom('member', 'admin'),
          badToken: fc.constantFrom('viewer', 'none', 'wrong'),
          actions: fc.array(clientActions(), { maxLength: 6 }),
        })
        .map((r) => ({
          mode: r.mode,
          task: r.broken.includes('task') ? r.badTask : r.mode === 'console' ? 'interactive' : r.execTask,
          query: r.broken.includes('query') ? r.badQuery : r.mode === 'exec' && !r.validQuery.includes('command') ? `${r.validQuery}&command=${encodeURIComponent('["true"]')}` : r.validQuery,
          token: r.broken.includes('token') ? r.badToken : r.validToken,
          actions: r.actions,
        }));
      await checkWithin(
        fc.asyncProperty(run, async ({ task, mode, query, token, actions }) => {
          const ref = { interactive, background, prefix: interactive.slice(0, 6), unknown: '0'.repeat(32), hostile: '%00..' }[task];
          const header = { member: `Bearer ${member}`, admin: `Bearer ${system.scheduler.token}`, viewer: `Bearer ${viewer}`, none: '', wrong: 'Bearer wrong' }[token];
          const url = `${system.scheduler.url.replace(/^http/, 'ws')}/v1/tasks/${ref}/${mode}${query}`;
          const sent: string[] = [];
          const story = () => `${mode} of ${task} task with ${token} token: ${url}\nsent:\n${sent.join('\n')}`;
          const opened = await FuzzSocket.open(url, header ? { authorization: header } : {});
          if (isRefused(opened)) {
            tally.refused++;
            // Cut while still sending: only a request past the server's header limit may be.
            if (opened.status === 0 && url.length + (header?.length ?? 0) > MAX_HEADER_BYTES) return alive();
            if (opened.status >= 500 || opened.status < 400) throw new Error(`upgrade answered ${opened.status} ${opened.body}\n${story()}`);
            if (!ApiErrorBody.safeParse(JSON.parse(opened.body || 'null')).success) throw new Error(`upgrade refused without the API's error body: ${opened.status} ${opened.body}\n${story()}`);
            alive();
            return;
          }
          tally.opened++;
          const socket = opened;
          try {
            // The session is live once the agent has attached it; what follows goes to it.
            if (await socket.until(() => socket.json().some((f) => f.type === 'attached'), 20_000)) tally.attached++;
            for (const action of actions) {
              const { data, binary } = encodeAction(action);
              sent.push(binary ? `binary ${(data as Buffer).toString('hex').slice(0, 100)}` : (data as string).slice(0, 300));
              await socket.send(data, binary);
            }
          } finally {
            const end = socket.isOpen ? await socket.close() : await socket.closed;
            if (!EXPECTED_CLOSE.has(end.code)) throw new Error(`session closed with ${end.code} ${end.reason}\n${story()}\nreceived: ${socket.texts.join('\n').slice(0, 1000)}`);
          }
          checkReceived(socket, story);
          alive();
        }),
        budget,
      );
      const summary = JSON.stringify(tally);
      if (budget.full) expect(tally.attached, summary).toBeGreaterThan(budget.numRuns / 10);
      if (budget.full) expect(tally.refused, summary).toBeGreaterThan(budget.numRuns / 10);

      // Both tasks still run, and a plain exec works as before.
      expect((await system.task(interactive)).status).toBe('RUNNING');
      expect((await system.task(background)).status).toBe('RUNNING');
      const exec = await FuzzSocket.open(`${system.scheduler.url.replace(/^http/, 'ws')}/v1/tasks/${background}/exec?tty=0&command=${encodeURIComponent('["echo","after-fuzz"]')}`, { authorization: `Bearer ${member}` });
      if (isRefused(exec)) throw new Error(`exec refused: ${exec.status} ${exec.body}`);
      await exec.until(() => exec.json().some((f) => f.type === 'exited'), 30_000);
      expect(exec.json().find((f) => f.type === 'exited')).toMatchObject({ exitCode: 0 });
      expect(Buffer.concat(exec.binaries.map((b) => b.subarray(1))).toString()).toContain('after-fuzz');
      await exec.close();
    },
    budget.timeoutMs,
  );

  const agentBudget = fuzzBudget(60, 240_000);
  it(
    `relays only protocol frames to clients whatever ${agentBudget.numRuns} dial-back streams of a fake agent send`,
    async () => {
      // A fake agent that owns an interactive task too big for the real one, and reports it running.
      const agent = await FuzzSocket.open(`${system.scheduler.url.replace(/^http/, 'ws')}/v1/agents/connect`, { authorization: `Bearer ${system.joinToken}` });
      if (isRefused(agent)) throw new Error(`agent refused: ${agent.status}`);
      // Its own credential, registered by the hello, is what its dial-backs present.
      const credential = randomBytes(32).toString('base64url');
      await agent.send(JSON.stringify({ type: 'hello', protocolVersion: PROTOCOL_VERSION, agentName: `fuzz-${randomBytes(4).toString('hex')}`, agentVersion: 'fuzz', capacity: { cpu: 8, memoryGb: 1 }, tasks: [], credential }));
      const owned = (await expectStatus(system.scheduler, 201, 'POST', TASKS, { command: 'sh', kind: 'interactive', cpu: 8, memoryGb: 0.1 })).id as string;
      await agent.until(() => agent.json().some((f) => f.type === 'task.assign'), 10_000);
      await agent.send(JSON.stringify({ type: 'task.status', taskId: owned, status: 'RUNNING', at: new Date().toISOString() }));
      await system.waitForTask(owned, (t) => t.status === 'RUNNING');
      const answers = fc.array(
        fc.oneof(
          { arbitrary: frameActions(ConsoleServerFrame, { weights: { frame: 4, mutated: 4, text: 1, binary: 0, huge: 1 }, hugeBytes: 1024 * 1024 }), weight: 3 },
          { arbitrary: fc.tuple(fc.constantFrom(0, 1, 1, 2, 3, 255), fc.uint8Array({ maxLength: 64 })).map(([channel, bytes]): FrameAction => ({ kind: 'binary', bytes: Buffer.from([channel, ...bytes]) })), weight: 2 },
        ),
        { maxLength: 6 },
      );
      let opened = 0;
      await checkWithin(
        fc.asyncProperty(answers, fc.constantFrom('own', 'own', 'join', 'wrong'), async (actions, dialToken) => {
          const client = await FuzzSocket.open(`${system.scheduler.url.replace(/^http/, 'ws')}/v1/tasks/${owned}/console`, { authorization: `Bearer ${member}` });
          if (isRefused(client)) throw new Error(`console refused: ${client.status} ${client.body}`);
          const sent: string[] = [];
          const story = () => `dial-back with ${dialToken} token sent:\n${sent.join('\n')}`;
          try {
            const asked = () => agent.json().filter((f) => f.type === 'console.open' && f.taskId === owned);
            const before = asked().length;
            await agent.until(() => asked().length > before, 10_000);
            const sessionId = String(asked()[before]?.sessionId);
            const stream = await FuzzSocket.open(`${system.scheduler.url.replace(/^http/, 'ws')}/v1/agents/consoles/${sessionId}`, {
              authorization: `Bearer ${{ own: credential, join: system.joinToken, wrong: 'wrong' }[dialToken]}`,
            });
            // Only the agent's own credential opens a dial-back; a join token never does.
            if (isRefused(stream)) {
              if (dialToken === 'own' || stream.status !== 401 || !ApiErrorBody.safeParse(JSON.parse(stream.body)).success) throw new Error(`dial-back answered ${stream.status} ${stream.body}`);
              return;
            }
            opened++;
            for (const action of actions) {
              const { data, binary } = encodeAction(action);
              sent.push(binary ? `binary ${(data as Buffer).toString('hex').slice(0, 100)}` : (data as string).slice(0, 300));
              await stream.send(data, binary);
            }
            await stream.close();
          } finally {
            const end = client.isOpen ? await client.close() : await client.closed;
            // The session ends when its agent stream does (1000); a refused dial-back leaves it to time out.
            if (!EXPECTED_CLOSE.has(end.code) && end.code !== 1011) throw new Error(`client closed with ${end.code} ${end.reason}\n${story()}`);
          }
          checkReceived(client, story);
          alive();
        }),
        agentBudget,
      );
      if (agentBudget.full) expect(opened).toBeGreaterThan(agentBudget.numRuns / 4);
      await agent.close();
    },
    agentBudget.timeoutMs,
  );
});
