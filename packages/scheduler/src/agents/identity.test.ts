import { AgentCloseCode, type Task } from '@tapit/protocol';
import WebSocket from 'ws';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashToken } from '../auth/tokens.js';
import { readUntil } from '../testing/eventually.js';
import { newCredential, ProtocolAgent } from '../testing/protocol-agent.js';
import { ADMIN_TOKEN, APP_PATH } from '../testing/test-app.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../testing/test-database.js';
import { JOIN_TOKEN, startTestScheduler } from '../testing/test-scheduler.js';

const now = () => new Date().toISOString();
const usage = { peakMemoryBytes: null, cpuSeconds: null, diskBytes: null };
const small = { cpu: 0.01, memoryGb: 0.01 };

/** The status of an upgrade to the agent websocket with `token`: 101 when it opened. */
function upgradeStatus(url: string, token: string, path = '/v1/agents/connect'): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}${path}`, { headers: { authorization: `Bearer ${token}` } });
    ws.once('open', () => (ws.terminate(), resolve(101)));
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', () => resolve(0));
  });
}

describe.each(DATABASE_KINDS)('agent identity on %s', (kind) => {
  let database: TestDatabase;
  let scheduler: Awaited<ReturnType<typeof startTestScheduler>>;
  const agents: ProtocolAgent[] = [];

  const boot = async (env: Record<string, string> = {}) => {
    database = await createTestDatabase(kind, { migrated: false });
    if (kind === 'embedded') await database.close();
    scheduler = await startTestScheduler(database, env);
    await scheduler.call('POST', APP_PATH, { name: 'web', image: 'web:1' });
  };
  beforeEach(async (context) => {
    // Tests that need other settings boot themselves.
    if (!context.task.name.includes('[own settings]')) await boot();
  });
  afterEach(async () => {
    for (const agent of agents.splice(0)) agent.close();
    await scheduler.close();
    if (kind === 'embedded') database.close = async () => {};
    await database.drop();
  });

  /** A new agent with a join token, or an agent coming back with its own credential. */
  const connect = async (token = JOIN_TOKEN, credential?: string) => {
    const agent = await ProtocolAgent.connect(scheduler.url, token, { credential: credential ?? (token.startsWith('test-join') || token.startsWith('tapit_join') ? undefined : token) });
    agents.push(agent);
    return agent;
  };
  const getTask = async (id: string) => (await scheduler.call('GET', `/v1/tasks/${id}`)).body as Task;
  const createTask = async (body: Record<string, unknown> = {}) =>
    (await scheduler.call('POST', `${APP_PATH}/web/tasks`, { command: 'sleep 100', ...body })).body as Task;
  const listed = async () => (await scheduler.call('GET', '/v1/agents')).body.items as { name: string; status: string }[];
  /** An agent `name` with one task RUNNING on it. */
  const agentRunning = async (name: string) => {
    const agent = await connect();
    await agent.hello(name, { capacity: { cpu: 1, memoryGb: 1 } });
    const task = await createTask();
    await agent.next('task.assign');
    agent.send({ type: 'task.status', taskId: task.id, status: 'RUNNING', at: now() });
    await readUntil(() => getTask(task.id), (t) => t.status === 'RUNNING');
    return { agent, task };
  };
  const as = async (token: string, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${scheduler.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };
  const offline = (name: string) => readUntil(listed, (items) => items.find((a) => a.name === name)?.status === 'offline');

  it("refuses a hello under a live agent's name (NAME_IN_USE, 4409) and leaves the real agent and its tasks alone", async () => {
    const { agent: real, task } = await agentRunning('alpha');
    const impostor = await connect();
    impostor.send({ type: 'hello', protocolVersion: 1, agentName: 'alpha', agentVersion: 'x', capacity: { cpu: 1, memoryGb: 1 }, tasks: [], credential: newCredential() });
    const refused = await impostor.next('refused');
    expect(refused.code).toBe('NAME_IN_USE');
    expect(refused.message).toContain('TAPIT_AGENT_NAME');
    expect((await impostor.closed).code).toBe(AgentCloseCode.nameInUse);
    // The real agent is still connected and still owns its task, which finishes normally.
    expect(real.socket.readyState).toBe(WebSocket.OPEN);
    expect(real.pending().filter((f) => f.type === 'task.stop')).toEqual([]);
    expect((await getTask(task.id)).status).toBe('RUNNING');
    real.send({ type: 'task.exited', taskId: task.id, stopCode: 'EXITED', exitCode: 0, reason: null, usage, startedAt: now(), finishedAt: now(), lastSeq: 0 });
    expect(await readUntil(() => getTask(task.id), (t) => t.status === 'STOPPED')).toMatchObject({ stopCode: 'EXITED', exitCode: 0 });
  });

  it('refuses a capacity past sane bounds', async () => {
    const agent = await connect();
    agent.send({ type: 'hello', protocolVersion: 1, agentName: 'greedy', agentVersion: 'x', capacity: { cpu: 1e6, memoryGb: 1e300 }, tasks: [], credential: newCredential() });
    const refused = await agent.next('refused');
    expect(refused).toMatchObject({ code: 'BAD_FRAME' });
    expect(refused.message).toContain('capacity.cpu');
    expect((await agent.closed).code).toBe(AgentCloseCode.badFrame);
  });

  it("answers an exit report for another agent's task without revealing its log position", async () => {
    const { agent: owner, task } = await agentRunning('owner');
    owner.send({ type: 'task.log', taskId: task.id, seq: 1, lines: [1, 2, 3, 4, 5, 6, 7].map((n) => ({ stream: 'stdout' as const, text: `line ${n}`, at: now() })) });
    expect((await owner.next('task.log.ack')).seq).toBe(7);
    const other = await connect();
    await other.hello('other', { capacity: small });
    other.send({ type: 'task.exited', taskId: task.id, stopCode: 'EXITED', exitCode: 0, reason: null, usage, startedAt: null, finishedAt: now(), lastSeq: 2 });
    expect((await other.next('task.log.ack')).seq).toBe(2); // its own number echoed, not 7
    expect((await getTask(task.id)).status).toBe('RUNNING');
  });

  it('answers held ids that are not its own the same, whether they exist or not', async () => {
    const { task } = await agentRunning('owner');
    const other = await connect();
    const welcome = await other.hello('other', {
      capacity: small,
      tasks: [
        { taskId: task.id, lastSeq: 0, state: 'running' },
        { taskId: 'f'.repeat(32), lastSeq: 0, state: 'running' },
      ],
    });
    expect(welcome.acks).toEqual([]);
    expect(welcome.drop.sort()).toEqual([task.id, 'f'.repeat(32)].sort());
  });

  it('closes an agent connection that sends a frame larger than any the agent sends', async () => {
    const agent = await connect();
    await agent.hello('big', { capacity: small });
    const line = { stream: 'stdout', text: 'x'.repeat(60_000), at: now() };
    agent.send(JSON.stringify({ type: 'task.log', taskId: 'a'.repeat(32), seq: 1, lines: Array.from({ length: 100 }, () => line) }));
    expect((await agent.closed).code).toBe(1009);
  });

  it('lists agents in full only to tokens for all projects; a project token sees the agents of its tasks, without counts', async () => {
    await agentRunning('runs-default');
    const idle = await connect();
    await idle.hello('idle', { capacity: small, labels: { region: 'eu' } });
    await scheduler.call('POST', '/v1/projects', { name: 'other' });
    const otherViewer = (await scheduler.call('POST', '/v1/tokens', { name: 'other-viewer', role: 'viewer', project: 'other' })).body.token;
    const defaultViewer = (await scheduler.call('POST', '/v1/tokens', { name: 'default-viewer', role: 'viewer', project: 'default' })).body.token;
    expect((await as(otherViewer, 'GET', '/v1/agents')).body.items).toEqual([]);
    const seen = (await as(defaultViewer, 'GET', '/v1/agents')).body.items;
    expect(seen.map((a: { name: string }) => a.name)).toEqual(['runs-default']);
    expect(Object.keys(seen[0]).sort()).toEqual(['connectedAt', 'labels', 'lastSeenAt', 'name', 'status', 'version']);
    const all = (await scheduler.call('GET', '/v1/agents')).body.items;
    expect(all.map((a: { name: string }) => a.name)).toEqual(['idle', 'runs-default']);
    expect(all[0]).toMatchObject({ labels: { region: 'eu' }, drained: false, capacity: small, capacitySet: false, runningTasks: 0 });
    expect(all[1].runningTasks).toBe(1);
  });

  it('deletes an offline agent, not a connected one', async () => {
    const agent = await connect();
    await agent.hello('retired', { capacity: small });
    const refused = await scheduler.call('DELETE', '/v1/agents/retired');
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain('tapit revoke agent retired');
    agent.close();
    await offline('retired');
    expect((await scheduler.call('DELETE', '/v1/agents/retired')).status).toBe(204);
    expect(await listed()).toEqual([]);
    expect((await scheduler.call('DELETE', '/v1/agents/retired')).status).toBe(404);
  });

  it('accepts a console dial-back only from the agent that was asked', async () => {
    const { agent: owner } = await agentRunning('owner');
    const other = await connect();
    await other.hello('other', { capacity: small });
    const console = await createTask({ kind: 'interactive', command: 'sh' });
    const { task: spec } = await owner.next('task.assign');
    owner.send({ type: 'task.status', taskId: spec.taskId, status: 'RUNNING', at: now() });
    await readUntil(() => getTask(console.id), (t) => t.status === 'RUNNING');
    const client = new WebSocket(`${scheduler.url.replace(/^http/, 'ws')}/v1/tasks/${console.id}/console?cols=80&rows=24`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    client.on('error', () => {});
    const open = await owner.next('console.open');
    const path = `/v1/agents/consoles/${open.sessionId}`;
    // A holder of the join token, and another agent with its own credential, dial back first.
    expect(await upgradeStatus(scheduler.url, JOIN_TOKEN, path)).toBe(401);
    expect(await upgradeStatus(scheduler.url, other.credential, path)).toBe(404);
    // The agent that was asked still can.
    expect(await upgradeStatus(scheduler.url, owner.credential, path)).toBe(101);
    client.terminate();
  });

  it('exchanges the join token for the agent credential at first contact; from then on the credential is what lets it in', async () => {
    const first = await connect();
    await first.hello('alpha', { capacity: small });
    if (kind === 'postgres') {
      // Only its hash is kept (the embedded database is the scheduler's alone to read).
      const row = await database.db.selectFrom('agents').select(['credential_hash', 'joined_with']).where('name', '=', 'alpha').executeTakeFirstOrThrow();
      expect(row).toEqual({ credential_hash: hashToken(first.credential), joined_with: 'TAPIT_AGENT_JOIN_TOKEN' });
    }
    first.close();
    await offline('alpha');
    // Back with its credential, without any join token.
    const back = await connect(first.credential);
    expect((await back.hello('alpha', { capacity: small, credential: null })).agentName).toBe('alpha');
    // The join is in the audit trail once, with the join token as the actor and where it came
    // from; coming back with its own credential is no change.
    const joins = (await scheduler.call('GET', '/v1/audit?action=agent.join')).body.items;
    expect(joins).toEqual([expect.objectContaining({ actor: 'TAPIT_AGENT_JOIN_TOKEN', action: 'agent.join', targetType: 'agent', targetId: 'alpha', project: null, source: '127.0.0.1', details: expect.objectContaining({ bound: 'new' }) })]);
    // The credential is alpha's only: it cannot be used under another name.
    const misuse = await connect(first.credential);
    misuse.send({ type: 'hello', protocolVersion: 1, agentName: 'beta', agentVersion: 'x', capacity: small, tasks: [] });
    expect((await misuse.next('refused')).code).toBe('UNAUTHORIZED');
    expect((await misuse.closed).code).toBe(AgentCloseCode.unauthorized);
    // Nor can a join token hello without a credential of its own (an agent older than this).
    const old = await connect();
    old.send({ type: 'hello', protocolVersion: 1, agentName: 'gamma', agentVersion: '0.0.1', capacity: small, tasks: [] });
    expect((await old.next('refused')).message).toContain('upgrade it');
  });

  it('lets the same agent replace its own stale session at once; its tasks carry on', async () => {
    const { agent: stale, task } = await agentRunning('alpha');
    // A restart or a half-open link: the old connection is still there when the new one says hello.
    const fresh = await connect(stale.credential);
    const welcome = await fresh.hello('alpha', { capacity: { cpu: 1, memoryGb: 1 }, tasks: [{ taskId: task.id, lastSeq: 0, state: 'running' }], credential: null });
    expect(welcome.drop).toEqual([]);
    expect((await stale.closed).code).toBe(AgentCloseCode.replaced);
    expect((await getTask(task.id)).status).toBe('RUNNING');
    // Its welcome lost, an agent presents the join token again with the same credential: the same agent.
    const again = await connect(JOIN_TOKEN, stale.credential);
    expect((await again.hello('alpha', { capacity: { cpu: 1, memoryGb: 1 }, tasks: [{ taskId: task.id, lastSeq: 0, state: 'running' }] })).drop).toEqual([]);
    expect((await getTask(task.id)).status).toBe('RUNNING');
  });

  it('refuses a new credential for the name of an agent that is offline but not yet lost, and frees it once an admin deletes the agent', async () => {
    const { agent: real, task } = await agentRunning('alpha');
    real.close();
    await offline('alpha');
    const wiped = await connect(); // same name, a new credential (its state folder was wiped)
    wiped.send({ type: 'hello', protocolVersion: 1, agentName: 'alpha', agentVersion: 'x', capacity: small, tasks: [], credential: wiped.credential });
    const refused = await wiped.next('refused');
    expect(refused.code).toBe('NAME_IN_USE');
    expect(refused.message).toContain('tapit delete agent alpha');
    expect((await getTask(task.id)).status).toBe('RUNNING'); // a hello from another instance ends nothing
    expect((await scheduler.call('DELETE', '/v1/agents/alpha')).status).toBe(204);
    expect(await readUntil(() => getTask(task.id), (t) => t.status === 'STOPPED')).toMatchObject({ stopCode: 'AGENT_LOST', stopReason: 'agent alpha was deleted by bootstrap' });
    const newcomer = await connect();
    const welcome = await newcomer.hello('alpha', { capacity: small, tasks: [{ taskId: task.id, lastSeq: 0, state: 'running' }] });
    // The newcomer is not the old agent: nothing of the old one's tasks is acknowledged to it.
    expect(welcome.acks).toEqual([]);
    expect(welcome.drop).toEqual([task.id]);
    newcomer.send({ type: 'task.log', taskId: task.id, seq: 1, lines: [{ stream: 'stdout', text: 'forged', at: now() }] });
    newcomer.send({ type: 'heartbeat', at: now() });
    await new Promise((r) => setTimeout(r, 300));
    expect(newcomer.pending().filter((f) => f.type === 'task.log.ack')).toEqual([]);
  });

  if (kind === 'postgres') {
    it('gives the name of an agent from before credentials only to the agent holding every task it started', async () => {
      const { agent: old, task } = await agentRunning('legacy');
      old.close();
      await offline('legacy');
      // As the upgrade leaves it: an agents row with no credential bound, a task running on it.
      await database.db.updateTable('agents').set({ credential_hash: null, bound_at: null }).where('name', '=', 'legacy').execute();
      // Another host with the join token knows no task of it: refused, and the task runs on.
      const intruder = await connect();
      intruder.send({ type: 'hello', protocolVersion: 1, agentName: 'legacy', agentVersion: 'x', capacity: small, tasks: [], credential: intruder.credential });
      expect((await intruder.next('refused')).code).toBe('NAME_IN_USE');
      expect((await getTask(task.id)).status).toBe('RUNNING');
      // The upgraded agent, holding its task, gets its name and its task back.
      const upgraded = await connect();
      const welcome = await upgraded.hello('legacy', { capacity: small, tasks: [{ taskId: task.id, lastSeq: 0, state: 'running' }] });
      expect(welcome.drop).toEqual([]);
      expect(welcome.acks).toEqual([{ taskId: task.id, seq: 0 }]);
      expect((await getTask(task.id)).status).toBe('RUNNING');
    });
  }

  it('lets a new credential take the name of an agent silent past the lost grace with no task left [own settings]', async () => {
    await boot({ TAPIT_AGENT_LOST_GRACE_SECONDS: '1', TAPIT_HEARTBEAT_INTERVAL_MS: '200' });
    const { agent: real, task } = await agentRunning('alpha');
    real.close();
    expect(await readUntil(() => getTask(task.id), (t) => t.status === 'STOPPED')).toMatchObject({ stopCode: 'AGENT_LOST' });
    const replacement = await connect();
    expect((await replacement.hello('alpha', { capacity: small })).agentName).toBe('alpha');
    // The old credential no longer gets in.
    expect(await upgradeStatus(scheduler.url, real.credential)).toBe(401);
    // Nor does the newcomer speak for the old agent's task, whose late report is still awaited.
    const lost = await getTask(task.id);
    replacement.send({ type: 'task.exited', taskId: task.id, stopCode: 'EXITED', exitCode: 0, reason: null, usage, startedAt: now(), finishedAt: now(), lastSeq: 0 });
    await replacement.next('task.log.ack');
    expect(await getTask(task.id)).toEqual(lost);
    const lines = (await scheduler.call('GET', `/v1/tasks/${task.id}/logs`)).body.lines as { text: string }[];
    expect(lines.filter((l) => l.text.startsWith('Late report'))).toEqual([]);
  });

  it('revokes an agent: disconnected at once, its tasks AGENT_LOST, its credential and name refused until it is deleted', async () => {
    const { agent, task } = await agentRunning('alpha');
    expect((await scheduler.call('POST', '/v1/agents/alpha/revoke')).status).toBe(204);
    expect((await agent.next('refused')).code).toBe('UNAUTHORIZED');
    expect((await agent.closed).code).toBe(AgentCloseCode.unauthorized);
    expect(await getTask(task.id)).toMatchObject({ status: 'STOPPED', stopCode: 'AGENT_LOST', stopReason: 'agent alpha was revoked by bootstrap' });
    expect(await upgradeStatus(scheduler.url, agent.credential)).toBe(401);
    const rejoin = await connect(JOIN_TOKEN, agent.credential);
    rejoin.send({ type: 'hello', protocolVersion: 1, agentName: 'alpha', agentVersion: 'x', capacity: small, tasks: [], credential: newCredential() });
    expect((await rejoin.next('refused')).message).toContain('revoked');
    expect((await listed())[0]).toMatchObject({ name: 'alpha', status: 'revoked' });
    expect((await scheduler.call('POST', '/v1/agents/alpha/revoke')).status).toBe(409);
    expect((await scheduler.call('DELETE', '/v1/agents/alpha')).status).toBe(204);
    expect((await (await connect()).hello('alpha', { capacity: small })).agentName).toBe('alpha');
  });

  it('refuses a join token as the credential a join registers: the token would then open that agent', async () => {
    const token = (await scheduler.call('POST', '/v1/join-tokens', { name: 'rack' })).body.token as string;
    const sneaky = await connect(token, token);
    sneaky.send({ type: 'hello', protocolVersion: 1, agentName: 'sneaky', agentVersion: 'x', capacity: small, tasks: [], credential: token });
    expect((await sneaky.next('refused')).code).toBe('UNAUTHORIZED');
    expect((await sneaky.closed).code).toBe(AgentCloseCode.unauthorized);
    // The token is still a join token, and admits an agent with a credential of its own.
    const real = await connect(token);
    expect((await real.hello('real', { capacity: small })).agentName).toBe('real');
    const dialBack = await upgradeStatus(scheduler.url, token, '/v1/agents/consoles/0123456789abcdef0123456789abcdef');
    expect(dialBack).toBe(401);
  });

  it('admits with a join token only as many agents as its uses, and not once expired or revoked', async () => {
    const created = await scheduler.call('POST', '/v1/join-tokens', { name: 'one-shot', uses: 1 });
    expect(created.status).toBe(201);
    const token = created.body.token as string;
    const first = await connect(token);
    await first.hello('first', { capacity: small });
    expect(await upgradeStatus(scheduler.url, token)).toBe(401);
    expect((await scheduler.call('GET', '/v1/join-tokens')).body.items).toEqual([expect.objectContaining({ name: 'one-shot', used: 1, uses: 1 })]);
    // The agent it admitted comes back with its credential: the used-up token is not needed.
    first.close();
    await offline('first');
    await (await connect(first.credential)).hello('first', { capacity: small, credential: null });

    const revoked = (await scheduler.call('POST', '/v1/join-tokens', { name: 'revoked' })).body.token as string;
    expect(await upgradeStatus(scheduler.url, revoked)).toBe(101);
    expect((await scheduler.call('DELETE', '/v1/join-tokens/revoked')).status).toBe(204);
    expect(await upgradeStatus(scheduler.url, revoked)).toBe(401);

    if (kind === 'postgres') {
      const expiring = (await scheduler.call('POST', '/v1/join-tokens', { name: 'expiring' })).body.token as string;
      await database.db.updateTable('join_tokens').set({ expires_at: new Date(Date.now() - 1000) }).where('name', '=', 'expiring').execute();
      expect(await upgradeStatus(scheduler.url, expiring)).toBe(401);
    }
  });

  it('drains an agent: no new task goes to it, its running ones go on; an admin-set capacity bounds placement', async () => {
    const { agent, task } = await agentRunning('alpha');
    const drained = await scheduler.call('PATCH', '/v1/agents/alpha', { drained: true });
    expect(drained.body).toMatchObject({ name: 'alpha', drained: true });
    const waiting = await createTask({ cpu: 0.25, memoryGb: 0.01 });
    await new Promise((r) => setTimeout(r, 500));
    expect((await getTask(waiting.id)).status).toBe('PROVISIONING');
    expect((await getTask(task.id)).status).toBe('RUNNING');
    // Undrained with room for one more quarter vCPU only: the first waiting task goes, a second does not.
    const changed = await scheduler.call('PATCH', '/v1/agents/alpha', { drained: false, cpu: 0.5 });
    expect(changed.body).toMatchObject({ drained: false, capacity: { cpu: 0.5, memoryGb: 1 }, capacitySet: true });
    expect((await agent.next('task.assign')).task.taskId).toBe(waiting.id);
    const more = await createTask({ cpu: 0.25, memoryGb: 0.01 });
    await new Promise((r) => setTimeout(r, 500));
    expect((await getTask(more.id)).status).toBe('PROVISIONING');
    expect((await scheduler.call('PATCH', '/v1/agents/alpha', { cpu: null })).body).toMatchObject({ capacity: { cpu: 1 }, capacitySet: false });
    expect((await agent.next('task.assign')).task.taskId).toBe(more.id);
    expect((await scheduler.call('PATCH', '/v1/agents/alpha', { cpu: 1e6 })).status).toBe(400);
    expect((await scheduler.call('PATCH', '/v1/agents/nobody', { drained: true })).status).toBe(404);
  });

  it('places a task only on an agent carrying the labels it requires, and tasks no agent can take do not block the others', async () => {
    const eu = await connect();
    await eu.hello('eu-1', { capacity: { cpu: 64, memoryGb: 64 }, labels: { region: 'eu', gpu: 'true' } });
    const us = await connect();
    await us.hello('us-1', { capacity: { cpu: 64, memoryGb: 64 }, labels: { region: 'us' } });
    await scheduler.call('POST', APP_PATH, { name: 'eu-app', image: 'web:1', constraints: { region: 'eu' } });
    // More tasks than one placement batch that no agent can satisfy, created first (on Postgres,
    // which the test can write to beside the scheduler; the embedded database is the scheduler's).
    const mars = await createTask({ cpu: 0.01, memoryGb: 0.01, constraints: { region: 'mars' } });
    const unsatisfiable = kind === 'postgres' ? 210 : 1;
    if (kind === 'postgres') await sql`
      INSERT INTO tasks (id, app_id, image, command, kind, cpu, memory_gb, created_by, status, desired_status, constraints, created_at)
      SELECT md5(random()::text || n::text), app_id, image, command, kind, cpu, memory_gb, created_by, status, desired_status, constraints, created_at
      FROM tasks, generate_series(1, 209) AS n WHERE id = ${mars.id}
    `.execute(database.db);
    const gpu = (await scheduler.call('POST', `${APP_PATH}/eu-app/tasks`, { command: 'x', cpu: 0.01, memoryGb: 0.01, constraints: { gpu: 'true' } })).body as Task;
    expect(gpu.constraints).toEqual({ region: 'eu', gpu: 'true' });
    const anywhere = await createTask({ cpu: 0.01, memoryGb: 0.01 });
    const usOnly = await createTask({ cpu: 0.01, memoryGb: 0.01, constraints: { region: 'us' } });
    expect((await readUntil(() => getTask(gpu.id), (t) => t.status === 'PENDING')).agent).toBe('eu-1');
    expect((await readUntil(() => getTask(usOnly.id), (t) => t.status === 'PENDING')).agent).toBe('us-1');
    expect((await readUntil(() => getTask(anywhere.id), (t) => t.status === 'PENDING')).agent).toMatch(/^(eu|us)-1$/);
    const stuck = (await scheduler.call('GET', '/v1/tasks?status=PROVISIONING&limit=500')).body.items as Task[];
    expect(stuck.length).toBe(unsatisfiable);
    expect(stuck.every((t) => t.constraints.region === 'mars')).toBe(true);
    // An app's constraints can be changed; a bad label is refused naming it.
    expect((await scheduler.call('PATCH', `${APP_PATH}/eu-app`, { constraints: { region: 'us' } })).body.constraints).toEqual({ region: 'us' });
    const bad = await scheduler.call('POST', `${APP_PATH}/web/tasks`, { command: 'x', constraints: { Region: 'eu' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('constraints.Region');
  });
});

describe('agent connections and admin rights', () => {
  let database: TestDatabase;
  let scheduler: Awaited<ReturnType<typeof startTestScheduler>>;
  afterEach(async () => {
    await scheduler.close();
    await database.drop();
  });

  it('bounds agent connections: in total, and those not yet welcomed', async () => {
    database = await createTestDatabase('postgres', { migrated: false });
    scheduler = await startTestScheduler(database, { TAPIT_MAX_AGENT_CONNECTIONS: '70' });
    const sockets: WebSocket[] = [];
    /** A connection that never says hello: its status, and the refusal's message. */
    const silent = () =>
      new Promise<{ status: number; message?: string }>((resolve) => {
        const ws = new WebSocket(`${scheduler.url.replace(/^http/, 'ws')}/v1/agents/connect`, { headers: { authorization: `Bearer ${JOIN_TOKEN}` } });
        sockets.push(ws);
        ws.on('error', () => {});
        ws.once('open', () => resolve({ status: 101 }));
        ws.once('unexpected-response', (_req, res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, message: JSON.parse(body).error.message }));
        });
      });
    const welcomed = [];
    for (let i = 0; i < 10; i++) {
      const agent = await ProtocolAgent.connect(scheduler.url, JOIN_TOKEN);
      await agent.hello(`a${i}`, { capacity: small });
      welcomed.push(agent);
    }
    for (let i = 0; i < 60; i++) expect((await silent()).status).toBe(101);
    const full = await silent();
    expect(full).toMatchObject({ status: 503, message: expect.stringContaining('most agent connections (70)') });
    for (const agent of welcomed) agent.close();
    await Promise.all(welcomed.map((a) => a.closed));
    await readUntil(silent, (r) => r.status === 101); // a welcomed agent's place is free again
    for (let i = 0; i < 3; i++) expect((await silent()).status).toBe(101);
    // 64 connections without a hello are the most, whatever the total allows.
    expect(await silent()).toMatchObject({ status: 503, message: expect.stringContaining('starting at once') });
    for (const ws of sockets) ws.terminate();
  });

  it('keeps join tokens, and revoking, draining and deleting agents, to admins of all projects', async () => {
    database = await createTestDatabase('postgres', { migrated: false });
    scheduler = await startTestScheduler(database);
    const call = async (token: string, method: string, path: string, body?: unknown) =>
      (await fetch(`${scheduler.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })).status;
    const member = (await scheduler.call('POST', '/v1/tokens', { name: 'dev', role: 'member' })).body.token;
    const projectAdmin = (await scheduler.call('POST', '/v1/tokens', { name: 'shop-admin', role: 'admin', project: 'default' })).body.token;
    for (const token of [member, projectAdmin]) {
      expect(await call(token, 'POST', '/v1/join-tokens', {})).toBe(403);
      expect(await call(token, 'GET', '/v1/join-tokens')).toBe(403);
      expect(await call(token, 'DELETE', '/v1/join-tokens/x')).toBe(403);
      expect(await call(token, 'PATCH', '/v1/agents/x', { drained: true })).toBe(403);
      expect(await call(token, 'POST', '/v1/agents/x/revoke')).toBe(403);
      expect(await call(token, 'DELETE', '/v1/agents/x')).toBe(403);
    }
    const created = await scheduler.call('POST', '/v1/join-tokens', { uses: 2, expiresInSeconds: 3600 });
    expect(created.body).toMatchObject({ name: expect.stringMatching(/^join-[0-9a-f]{6}$/), used: 0, uses: 2, createdBy: 'bootstrap', revokedAt: null });
    const stored = await database.db.selectFrom('join_tokens').select('token_hash').executeTakeFirstOrThrow();
    expect(stored.token_hash).toBe(hashToken(created.body.token));
    expect(JSON.stringify((await scheduler.call('GET', '/v1/join-tokens')).body)).not.toContain(created.body.token);
    expect((await scheduler.call('POST', '/v1/join-tokens', { name: created.body.name })).status).toBe(409);
    expect((await scheduler.call('POST', '/v1/join-tokens', { uses: 0 })).body.error.field).toBe('uses');
    expect((await scheduler.call('DELETE', '/v1/join-tokens/nope')).status).toBe(404);
    // Sent again with the same Idempotency-Key (its answer was lost), a create makes no second token.
    const once = () =>
      fetch(`${scheduler.url}/v1/join-tokens`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', 'idempotency-key': 'join-token-create-0001' },
        body: JSON.stringify({ name: 'rack-4', uses: 3 }),
      });
    const [first, again] = [await once(), await once()];
    expect([first.status, again.status]).toEqual([201, 200]);
    expect((await again.json()).token).toBe((await first.json()).token);
    const audit = await database.db.selectFrom('audit_events').select(['action', 'target_id']).where('action', 'like', 'join-token.%').orderBy('id').execute();
    expect(audit).toEqual([
      { action: 'join-token.create', target_id: created.body.name },
      { action: 'join-token.create', target_id: 'rack-4' },
    ]);
  });
});

describe('revoking an agent connected to another replica', () => {
  it('disconnects it within a second: the replicas share only Postgres', async () => {
    const database = await createTestDatabase('postgres', { migrated: false });
    const holder = await startTestScheduler(database);
    const other = await startTestScheduler(database);
    try {
      const agent = await ProtocolAgent.connect(holder.url, JOIN_TOKEN);
      await agent.hello('remote', { capacity: small });
      const revoked = await fetch(`${other.url}/v1/agents/remote/revoke`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(revoked.status).toBe(204);
      expect((await agent.next('refused', 5000)).code).toBe('UNAUTHORIZED');
      expect((await agent.closed).code).toBe(AgentCloseCode.unauthorized);
    } finally {
      await holder.close();
      await other.close();
      await database.drop();
    }
  });
});
