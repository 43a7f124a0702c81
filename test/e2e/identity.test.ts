import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { statSync } from 'node:fs';
import { AgentList, CreatedJoinToken, JoinTokenList } from '@tapit/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../support/agent.js';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { appLines, idFrom, startSystem, type System } from '../support/system.js';

// Agent identity with the built binaries: a name is bound to the agent that joined with it, a
// join token admits as many agents as it allows, and an admin can shut an agent out.
let system: System;
const extra: RunningAgent[] = [];
const folders: string[] = [];

beforeAll(async () => {
  system = await startSystem();
}, HOOK_TIMEOUT_MS);
afterAll(async () => {
  for (const agent of extra) await agent.kill('SIGTERM');
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
  await system?.stop();
}, HOOK_TIMEOUT_MS);

const why = () => `${system.output()}\n${extra.map((a) => `--- ${a.name} ---\n${a.output()}`).join('\n')}`;

async function until<T>(what: string, read: () => T | Promise<T>, ok: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${why()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function agents() {
  const listed = await system.tapit('list', 'agents', '--json');
  expect(listed.code, listed.stderr).toBe(0);
  return AgentList.parse(JSON.parse(listed.stdout)).items;
}

/** Another agent process, on a state folder of its own (which the test removes, not its stop). */
async function anotherAgent(joinToken: string, name: string, options: { wait?: boolean; env?: Record<string, string> } = {}) {
  const stateDir = await mkdtemp(join(tmpdir(), 'tapit-e2e-identity-'));
  folders.push(stateDir);
  const agent = await startAgent(system.scheduler, joinToken, name, { stateDir, noWait: options.wait === false, env: options.env });
  extra.push(agent);
  return agent;
}

describe('agent identity', () => {
  it("keeps its credential in its state folder, readable by it alone", () => {
    expect(statSync(join(system.agent.stateDir, 'agent-credential.json')).mode & 0o777).toBe(0o600);
  });

  it("refuses a second agent process the name of a live agent; the real agent's task finishes normally", async () => {
    const started = await system.tapit('create', 'task', 'sleep 2; echo finished');
    expect(started.code, started.stderr).toBe(0);
    const id = idFrom(started.stdout);
    await system.waitForTask(id, (t) => t.status === 'RUNNING');
    // Same name, same join token, a state folder (and so a credential) of its own.
    const impostor = await anotherAgent(system.joinToken, system.agent.name, { wait: false });
    await until('the refusal', () => impostor.output(), (out) => /agent\.name-in-use/.test(out));
    const task = await system.waitForTask(id, (t) => t.status === 'STOPPED');
    expect(task, why()).toMatchObject({ stopCode: 'EXITED', exitCode: 0, agent: system.agent.name });
    expect(appLines((await system.tapit('show', 'logs', `task=${id}`)).stdout)).toEqual(['finished']);
    // It keeps trying without displacing the real one, which stayed connected throughout.
    await until('a second refusal', () => impostor.output(), (out) => (out.match(/agent\.name-in-use/g) ?? []).length >= 2);
    expect(system.agent.output()).not.toMatch(/connection\.closed/);
    expect((await agents()).find((a) => a.name === system.agent.name)).toMatchObject({ status: 'online' });
    await impostor.kill('SIGTERM');
  });

  it('admits with a join token of one use one agent only, and revoke agent disconnects it at once', async () => {
    const created = await system.tapit('create', 'join-token', 'one-use', 'uses=1', 'expires=10m', '--json');
    expect(created.code, created.stderr).toBe(0);
    const token = CreatedJoinToken.parse(JSON.parse(created.stdout)).token;
    // Names of this run's own: another run on the same Docker engine (CI's second Node line) must
    // not hold their containers.
    const firstName = `e2e-first-${randomBytes(3).toString('hex')}`;
    const secondName = `e2e-second-${randomBytes(3).toString('hex')}`;
    const first = await anotherAgent(token, firstName, { env: { TAPIT_AGENT_LABELS: 'region=eu' } });
    const second = await anotherAgent(token, secondName, { wait: false });
    await until('the second agent refused', () => second.output(), (out) => /connection\.rejected status=401/.test(out));
    expect((await agents()).map((a) => a.name)).not.toContain(secondName);
    const tokens = JoinTokenList.parse(JSON.parse((await system.tapit('list', 'join-tokens', '--json')).stdout)).items;
    expect(tokens).toEqual([expect.objectContaining({ name: 'one-use', used: 1, uses: 1 })]);
    await second.kill('SIGTERM');

    // Labels travel with the agent; a task requiring one goes to the agent that carries it.
    const listed = (await agents()).find((a) => a.name === firstName);
    expect(listed).toMatchObject({ status: 'online', labels: { region: 'eu' } });
    const run = await system.tapit('create', 'task', 'echo in-eu', 'constraint=region=eu', '--wait');
    expect(run.code, `${run.stderr}\n${why()}`).toBe(0);
    expect((await system.task(idFrom(run.stdout))).agent).toBe(firstName);

    const revoked = await system.tapit('revoke', 'agent', firstName);
    expect(revoked.code, revoked.stderr).toBe(0);
    await until('the agent told', () => first.output(), (out) => /agent\.unauthorized/.test(out), 5_000);
    expect((await agents()).find((a) => a.name === firstName)).toMatchObject({ status: 'revoked' });
    const deleted = await system.tapit('delete', 'agent', firstName);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect((await agents()).map((a) => a.name)).not.toContain(firstName);
    await first.kill('SIGTERM');
  });
});
