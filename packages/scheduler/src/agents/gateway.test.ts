import { AgentCloseCode, type Task } from '@tapit/protocol';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readUntil } from '../testing/eventually.js';
import { ProtocolAgent } from '../testing/protocol-agent.js';
import { APP_PATH } from '../testing/test-app.js';
import { createTestDatabase, DATABASE_KINDS, TEST_ADMIN_URL, type TestDatabase } from '../testing/test-database.js';
import { JOIN_TOKEN, startTestScheduler } from '../testing/test-scheduler.js';

const now = () => new Date().toISOString();
const usage = { peakMemoryBytes: 1048576, cpuSeconds: 0.5, diskBytes: 4096 };

describe.each(DATABASE_KINDS)('agent gateway on %s', (kind) => {
  let database: TestDatabase;
  let scheduler: Awaited<ReturnType<typeof startTestScheduler>>;
  const agents: ProtocolAgent[] = [];

  const start = async (env: Record<string, string> = {}) => {
    database = await createTestDatabase(kind, { migrated: false });
    // The embedded database is one process's: hand the folder to the scheduler.
    if (kind === 'embedded') await database.close();
    scheduler = await startTestScheduler(database, env);
    await scheduler.call('POST', APP_PATH, { name: 'web', image: 'web:1' });
  };
  /** A new agent with the join token, or an agent coming back with its own credential. */
  const connect = async (token = JOIN_TOKEN) => {
    const agent = await ProtocolAgent.connect(scheduler.url, token, token === JOIN_TOKEN ? {} : { credential: token });
    agents.push(agent);
    return agent;
  };
  const createTask = async (body: Record<string, unknown> = {}) =>
    (await scheduler.call('POST', `${APP_PATH}/web/tasks`, { command: 'echo hi', ...body })).body as Task;
  const getTask = async (id: string) => (await scheduler.call('GET', `/v1/tasks/${id}`)).body as Task;
  const logTexts = async (id: string) =>
    ((await scheduler.call('GET', `/v1/tasks/${id}/logs`)).body.lines as { text: string; stream: string }[]).map((l) => `${l.stream}:${l.text}`);

  beforeEach(() => start());
  afterEach(async () => {
    for (const agent of agents.splice(0)) agent.close();
    await scheduler.close();
    if (kind === 'embedded') database.close = async () => {};
    await database.drop();
  });

  it('refuses an upgrade without the join token', async () => {
    await expect(ProtocolAgent.connect(scheduler.url, 'not-the-join-token')).rejects.toThrow('401');
  });

  it('welcomes an agent and lists it online', async () => {
    const agent = await connect();
    const welcome = await agent.hello('alpha', { capacity: { cpu: 2, memoryGb: 4 } });
    expect(welcome).toMatchObject({ agentName: 'alpha', acks: [], drop: [] });
    const listed = (await scheduler.call('GET', '/v1/agents')).body.items;
    expect(listed).toEqual([expect.objectContaining({ name: 'alpha', status: 'online', ready: true, notReadyReason: null, capacity: { cpu: 2, memoryGb: 4 } })]);
  });

  it('refuses an unsupported protocol version and closes', async () => {
    const agent = await connect();
    agent.send({ type: 'hello', protocolVersion: 99, agentName: 'old', agentVersion: 'x', capacity: { cpu: 1, memoryGb: 1 }, tasks: [] });
    const refused = await agent.next('refused');
    expect(refused.code).toBe('UNSUPPORTED_PROTOCOL_VERSION');
    expect(refused.message).toContain('99');
    expect((await agent.closed).code).toBe(AgentCloseCode.unsupportedVersion);
  });

  it('runs assign → accept → status → log chunks → exited, dropping duplicate chunks', async () => {
    const agent = await connect();
    await agent.hello('alpha');
    const task = await createTask({ cpu: 0.5, memoryGb: 0.25, maxHours: 1 });
    const assign = await agent.next('task.assign');
    expect(assign.task).toMatchObject({ taskId: task.id, image: 'web:1', command: ['/bin/sh', '-c', 'echo hi'], resources: { cpu: 0.5, memoryGb: 0.25, maxHours: 1 } });
    expect((await getTask(task.id)).status).toBe('PENDING');
    agent.send({ type: 'task.accepted', taskId: task.id });
    agent.send({ type: 'task.status', taskId: task.id, status: 'RUNNING', at: now(), imageDigest: 'sha256:abc' });
    const lines = (texts: string[]) => texts.map((text) => ({ stream: 'stdout' as const, text, at: now() }));
    agent.send({ type: 'task.log', taskId: task.id, seq: 1, lines: lines(['one', 'two']) });
    expect((await agent.next('task.log.ack')).seq).toBe(2);
    agent.send({ type: 'task.log', taskId: task.id, seq: 1, lines: lines(['one', 'two', 'three']) });
    expect((await agent.next('task.log.ack')).seq).toBe(3);
    agent.send({ type: 'task.exited', taskId: task.id, stopCode: 'EXITED', exitCode: 3, reason: null, usage, startedAt: now(), finishedAt: now(), lastSeq: 3 });
    expect((await agent.next('task.log.ack')).seq).toBe(3);
    const done = await readUntil(() => getTask(task.id), (t) => t.status === 'STOPPED');
    expect(done).toMatchObject({ stopCode: 'EXITED', exitCode: 3, agent: 'alpha', imageDigest: 'sha256:abc', usage });
    expect(done.startedAt).not.toBeNull();
    expect(await logTexts(task.id)).toEqual([
      'system:Task status is PROVISIONING, desired status is RUNNING',
      'system:Task status is PENDING, desired status is RUNNING',
      'system:Task status is RUNNING, desired status is RUNNING',
      'stdout:one',
      'stdout:two',
      'stdout:three',
      'system:Task status is STOPPED, desired status is STOPPED',
      'system:Task stopped: EXITED (exit code 3)',
    ]);
  });

  it('sends an interactive task with the terminal size it was created with', async () => {
    const agent = await connect();
    await agent.hello('alpha');
    const task = await createTask({ kind: 'interactive', command: 'bash', terminal: { cols: 132, rows: 43 } });
    const assign = await agent.next('task.assign');
    expect(assign.task).toMatchObject({ taskId: task.id, kind: 'interactive', terminal: { cols: 132, rows: 43 }, resources: { maxHours: 24 } });
  });

  it("sends the task's project and its app's read_only, also when it sends an assignment again", async () => {
    await scheduler.call('POST', APP_PATH, { name: 'locked', image: 'locked:1', readOnly: true });
    const agent = await connect();
    await agent.hello('alpha');
    const task = (await scheduler.call('POST', `${APP_PATH}/locked/tasks`, { command: 'true' })).body as Task;
    expect((await agent.next('task.assign')).task).toMatchObject({ taskId: task.id, project: 'default', readOnly: true });
    const plain = await createTask();
    expect((await agent.next('task.assign')).task).toMatchObject({ taskId: plain.id, project: 'default', readOnly: false });
    // Never accepted: a reconnect gets both again, the same way.
    agent.close();
    await agent.closed;
    const again = await connect(agent.credential);
    await again.hello('alpha', { tasks: [] });
    const resent = [await again.next('task.assign'), await again.next('task.assign')].map((f) => f.task);
    expect(resent).toEqual(expect.arrayContaining([expect.objectContaining({ taskId: task.id, readOnly: true, project: 'default' }), expect.objectContaining({ taskId: plain.id, readOnly: false })]));
  });

  it('closes only the connection that sent a malformed frame', async () => {
    const good = await connect();
    await good.hello('good');
    const bad = await connect();
    await bad.hello('bad', { capacity: { cpu: 0.01, memoryGb: 0.01 } });
    bad.send('{"type":"task.log","taskId":"nope"');
    expect((await bad.next('refused')).code).toBe('BAD_FRAME');
    expect((await bad.closed).code).toBe(AgentCloseCode.badFrame);
    const other = await connect();
    other.send({ type: 'task.exited' } as never);
    expect((await other.closed).code).toBe(AgentCloseCode.badFrame);
    const task = await createTask();
    expect((await good.next('task.assign')).task.taskId).toBe(task.id);
  });

  it('resumes after a reconnect: the task keeps running and the log continues from the ack', async () => {
    const first = await connect();
    await first.hello('alpha');
    const task = await createTask();
    await first.next('task.assign');
    first.send({ type: 'task.status', taskId: task.id, status: 'RUNNING', at: now() });
    first.send({ type: 'task.log', taskId: task.id, seq: 1, lines: [{ stream: 'stdout', text: 'before', at: now() }] });
    await first.next('task.log.ack');
    first.close();
    await first.closed;
    await readUntil(async () => (await scheduler.call('GET', '/v1/agents')).body.items[0].status, (s) => s === 'offline');

    const second = await connect(first.credential);
    const welcome = await second.hello('alpha', { tasks: [{ taskId: task.id, lastSeq: 3, state: 'running' }] });
    expect(welcome.acks).toEqual([{ taskId: task.id, seq: 1 }]);
    expect(welcome.drop).toEqual([]);
    expect(second.pending().filter((f) => f.type === 'task.assign')).toEqual([]); // never launched twice
    second.send({ type: 'task.log', taskId: task.id, seq: 2, lines: [{ stream: 'stdout', text: 'during', at: now() }, { stream: 'stderr', text: 'after', at: now() }] });
    expect((await second.next('task.log.ack')).seq).toBe(3);
    expect((await getTask(task.id)).status).toBe('RUNNING');
    expect((await logTexts(task.id)).filter((l) => !l.startsWith('system:'))).toEqual(['stdout:before', 'stdout:during', 'stderr:after']);
  });

  it('says it takes log chunks; stores a chunk re-sent over what it has from its first new line, and refuses a gap', async () => {
    const first = await connect();
    const welcome = await first.hello('alpha');
    expect(welcome.logChunks).toBe(true);
    const task = await createTask();
    await first.next('task.assign');
    first.send({ type: 'task.status', taskId: task.id, status: 'RUNNING', at: now() });
    const run = (texts: string[], stream: 'stdout' | 'stderr' = 'stdout') => ({ stream, at: now(), lines: texts.length, text: texts.map((t) => `${t}\n`).join('') });
    first.send({ type: 'task.log.chunk', taskId: task.id, seq: 1, runs: [run(['1', '2', '3'])] });
    expect((await first.next('task.log.ack')).seq).toBe(3);
    first.close();
    await first.closed;
    // Back after the ack was lost: lines 2 to 6 again, across two runs; only 4 to 6 are new.
    const second = await connect(first.credential);
    await second.hello('alpha', { tasks: [{ taskId: task.id, lastSeq: 6, state: 'running' }] });
    second.send({ type: 'task.log.chunk', taskId: task.id, seq: 2, runs: [run(['2', '3', '4']), run(['5', '6'], 'stderr')] });
    expect((await second.next('task.log.ack')).seq).toBe(6);
    second.send({ type: 'task.log.chunk', taskId: task.id, seq: 9, runs: [run(['9'])] });
    expect((await second.next('task.log.ack')).seq).toBe(6); // lines 7 and 8 never came: not stored
    second.send({ type: 'task.log.chunk', taskId: task.id, seq: 7, runs: [run(['7', '8'])] });
    expect((await second.next('task.log.ack')).seq).toBe(8);
    expect((await logTexts(task.id)).filter((l) => !l.startsWith('system:'))).toEqual(['stdout:1', 'stdout:2', 'stdout:3', 'stdout:4', 'stderr:5', 'stderr:6', 'stdout:7', 'stdout:8']);
    // Runs whose line count and text disagree are a bad frame, refused before anything is stored.
    second.send({ type: 'task.log.chunk', taskId: task.id, seq: 9, runs: [{ stream: 'stdout', at: now(), lines: 3, text: '9\n' }] });
    expect((await second.next('refused')).code).toBe('BAD_FRAME');
    expect((await second.closed).code).toBe(AgentCloseCode.badFrame);
    expect(((await scheduler.call('GET', `/v1/tasks/${task.id}/logs`)).body.lines as unknown[]).length).toBe(11);
  });

  it("keeps each task's frames in order, but never holds one task's frames behind another's queue (a flood beside a quiet task)", async () => {
    const agent = await connect();
    await agent.hello('alpha');
    const flood = await createTask();
    const quiet = await createTask();
    for (const task of [flood, quiet]) {
      await agent.next('task.assign');
      agent.send({ type: 'task.status', taskId: task.id, status: 'RUNNING', at: now() });
    }
    // Twelve full chunks of a flood (as many as an agent sends ahead of their acks, and more),
    // then one line of the quiet task: all on the wire before the first is stored.
    const LINES = 1300;
    const text = `${'0'.repeat(199)}\n`.repeat(LINES);
    for (let i = 0; i < 12; i++) agent.send({ type: 'task.log.chunk', taskId: flood.id, seq: 1 + i * LINES, runs: [{ stream: 'stdout', at: now(), lines: LINES, text }] });
    agent.send({ type: 'task.log.chunk', taskId: quiet.id, seq: 1, runs: [{ stream: 'stdout', at: now(), lines: 1, text: 'quiet\n' }] });
    const acks: { taskId: string; seq: number }[] = [];
    for (let i = 0; i < 13; i++) acks.push(await agent.next('task.log.ack', 60_000));
    expect(acks.filter((ack) => ack.taskId === flood.id).map((ack) => ack.seq)).toEqual(Array.from({ length: 12 }, (_, i) => (i + 1) * LINES));
    expect(acks.findIndex((ack) => ack.taskId === quiet.id)).toBeLessThan(acks.length - 1);
    expect((await logTexts(quiet.id)).filter((l) => !l.startsWith('system:'))).toEqual(['stdout:quiet']);
  });

  it('re-sends an assignment the agent never received, and ends a running task the agent no longer has', async () => {
    const first = await connect();
    await first.hello('alpha', { capacity: { cpu: 1, memoryGb: 1 } });
    const pending = await createTask({ cpu: 0.25 });
    const running = await createTask({ cpu: 0.25 });
    await first.next('task.assign');
    await first.next('task.assign');
    first.send({ type: 'task.status', taskId: running.id, status: 'RUNNING', at: now() });
    await readUntil(() => getTask(running.id), (t) => t.status === 'RUNNING');
    first.close();
    await first.closed;
    const second = await connect(first.credential);
    await second.hello('alpha', { capacity: { cpu: 1, memoryGb: 1 } });
    expect((await second.next('task.assign')).task.taskId).toBe(pending.id);
    const lost = await readUntil(() => getTask(running.id), (t) => t.status === 'STOPPED');
    expect(lost.stopCode).toBe('AGENT_LOST');
  });

  it('a recovering agent (its engine was away at its start) does not lose the tasks its hello lacks; its full hello does', async () => {
    const first = await connect();
    await first.hello('alpha');
    const running = await createTask();
    await first.next('task.assign');
    first.send({ type: 'task.status', taskId: running.id, status: 'RUNNING', at: now() });
    await readUntil(() => getTask(running.id), (t) => t.status === 'RUNNING');
    first.close();
    await first.closed;
    const recovering = await connect(first.credential);
    await recovering.hello('alpha', { recovering: true, readiness: { ready: false, reason: 'Docker engine unreachable: connect ENOENT /var/run/docker.sock' } });
    await new Promise((r) => setTimeout(r, 500));
    expect((await getTask(running.id)).status).toBe('RUNNING');
    recovering.close();
    await recovering.closed;
    const recovered = await connect(first.credential);
    await recovered.hello('alpha');
    const lost = await readUntil(() => getTask(running.id), (t) => t.status === 'STOPPED');
    expect(lost).toMatchObject({ stopCode: 'AGENT_LOST', stopReason: 'agent alpha came back without this task' });
  });

  it('places nothing on an agent that is not ready, lists why, and places again once it says it is ready', async () => {
    const reason = 'Docker engine unreachable: connect ENOENT /var/run/docker.sock';
    const agent = await connect();
    await agent.hello('alpha', { readiness: { ready: false, reason } });
    const listed = async () => (await scheduler.call('GET', '/v1/agents')).body.items[0];
    expect(await listed()).toMatchObject({ name: 'alpha', status: 'online', ready: false, notReadyReason: reason });
    const task = await createTask();
    await new Promise((r) => setTimeout(r, 500));
    expect(await getTask(task.id)).toMatchObject({ status: 'PROVISIONING', agent: null });
    expect(agent.pending().filter((f) => f.type === 'task.assign')).toEqual([]);

    agent.send({ type: 'heartbeat', at: now(), readiness: { ready: true, reason: null } });
    expect((await agent.next('task.assign')).task.taskId).toBe(task.id);
    expect(await listed()).toMatchObject({ ready: true, notReadyReason: null });

    // Ready at hello, then not: nothing more is placed; a heartbeat without readiness changes nothing.
    agent.send({ type: 'heartbeat', at: now(), readiness: { ready: false, reason } });
    await readUntil(listed, (a) => a.ready === false);
    agent.send({ type: 'heartbeat', at: now() });
    const second = await createTask();
    await new Promise((r) => setTimeout(r, 500));
    expect(await getTask(second.id)).toMatchObject({ status: 'PROVISIONING' });
    expect(await listed()).toMatchObject({ ready: false, notReadyReason: reason });
  });

  it('stores the readiness of agents that report it at once, each its own', async () => {
    const names = ['r0', 'r1', 'r2', 'r3', 'r4'];
    const fleet = await Promise.all(names.map(async (name) => {
      const agent = await connect();
      await agent.hello(name, { readiness: { ready: false, reason: 'engine starting' } });
      return agent;
    }));
    const listed = async () => Object.fromEntries(((await scheduler.call('GET', '/v1/agents')).body.items as { name: string; notReadyReason: string | null }[]).map((a) => [a.name, a.notReadyReason]));
    expect(await listed()).toEqual(Object.fromEntries(names.map((n) => [n, 'engine starting'])));
    // All in one turn: their changes reach the database together.
    for (const agent of fleet) agent.send({ type: 'heartbeat', at: now(), readiness: { ready: true, reason: null } });
    await readUntil(listed, (all) => names.every((n) => all[n] === null));
    fleet.forEach((agent, i) => agent.send({ type: 'heartbeat', at: now(), readiness: i % 2 ? { ready: false, reason: `disk full on ${names[i]}` } : { ready: true, reason: null } }));
    await readUntil(listed, (all) => all.r1 !== null && all.r3 !== null);
    expect(await listed()).toEqual({ r0: null, r1: 'disk full on r1', r2: null, r3: 'disk full on r3', r4: null });
  });

  it('stops a task: task.stop to the agent, STOPPING, then USER_STOPPED by whom', async () => {
    const agent = await connect();
    await agent.hello('alpha');
    const task = await createTask();
    await agent.next('task.assign');
    agent.send({ type: 'task.status', taskId: task.id, status: 'RUNNING', at: now() });
    await readUntil(() => getTask(task.id), (t) => t.status === 'RUNNING');
    await scheduler.call('POST', `/v1/tasks/${task.id}/stop`);
    const stop = await agent.next('task.stop');
    expect(stop).toMatchObject({ taskId: task.id, stopCode: 'USER_STOPPED' });
    expect(stop.graceSeconds).toBeGreaterThan(0);
    expect((await getTask(task.id)).status).toBe('STOPPING');
    agent.send({ type: 'task.exited', taskId: task.id, stopCode: 'USER_STOPPED', exitCode: 143, reason: 'stopped by bootstrap', usage, startedAt: null, finishedAt: now(), lastSeq: 0 });
    const done = await readUntil(() => getTask(task.id), (t) => t.status === 'STOPPED');
    expect(done).toMatchObject({ stopCode: 'USER_STOPPED', stoppedBy: 'bootstrap', exitCode: 143 });
  });

  it('places only what fits, and the rest when capacity frees up', async () => {
    const agent = await connect();
    await agent.hello('small', { capacity: { cpu: 1, memoryGb: 1 } });
    const a = await createTask({ cpu: 0.75, memoryGb: 0.5 });
    const b = await createTask({ cpu: 0.75, memoryGb: 0.5 });
    expect((await agent.next('task.assign')).task.taskId).toBe(a.id);
    await new Promise((r) => setTimeout(r, 400));
    expect(agent.pending().filter((f) => f.type === 'task.assign')).toEqual([]);
    expect((await getTask(b.id)).status).toBe('PROVISIONING');
    agent.send({ type: 'task.exited', taskId: a.id, stopCode: 'EXITED', exitCode: 0, reason: null, usage, startedAt: now(), finishedAt: now(), lastSeq: 0 });
    expect((await agent.next('task.assign')).task.taskId).toBe(b.id);
  });

  it('places no more tasks at once than the agent offers (its maxTasks)', async () => {
    const agent = await connect();
    await agent.hello('narrow', { capacity: { cpu: 8, memoryGb: 8, maxTasks: 2 } });
    const [a, b, c] = [await createTask(), await createTask(), await createTask()];
    const first = [(await agent.next('task.assign')).task.taskId, (await agent.next('task.assign')).task.taskId];
    expect(first.sort()).toEqual([a.id, b.id].sort());
    await new Promise((r) => setTimeout(r, 400));
    expect(agent.pending().filter((f) => f.type === 'task.assign')).toEqual([]);
    expect((await getTask(c.id)).status).toBe('PROVISIONING');
    agent.send({ type: 'task.exited', taskId: a.id, stopCode: 'EXITED', exitCode: 0, reason: null, usage, startedAt: now(), finishedAt: now(), lastSeq: 0 });
    expect((await agent.next('task.assign')).task.taskId).toBe(c.id);
  });

  it('ignores reports about a task from an agent it is not placed on', async () => {
    const owner = await connect();
    await owner.hello('owner', { capacity: { cpu: 1, memoryGb: 1 } });
    const task = await createTask();
    await owner.next('task.assign');
    const intruder = await connect();
    await intruder.hello('intruder', { capacity: { cpu: 0.01, memoryGb: 0.01 } });
    intruder.send({ type: 'task.exited', taskId: task.id, stopCode: 'EXITED', exitCode: 0, reason: null, usage, startedAt: null, finishedAt: now(), lastSeq: 0 });
    await intruder.next('task.log.ack');
    expect((await getTask(task.id)).status).toBe('PENDING');
  });
});

describe('agent liveness and backstops', () => {
  let database: TestDatabase;
  let scheduler: Awaited<ReturnType<typeof startTestScheduler>>;
  afterEach(async () => {
    await scheduler.close();
    await database.drop();
  });
  const boot = async (env: Record<string, string>) => {
    database = await createTestDatabase('postgres', { migrated: false });
    scheduler = await startTestScheduler(database, env);
    await scheduler.call('POST', APP_PATH, { name: 'web', image: 'web:1' });
  };
  /** An agent `name` connected and running one new task. */
  const agentRunning = async (name: string, options: { capacity?: { cpu: number; memoryGb: number }; task?: Record<string, unknown> } = {}) => {
    const agent = await ProtocolAgent.connect(scheduler.url, JOIN_TOKEN);
    await agent.hello(name, options.capacity ? { capacity: options.capacity } : {});
    const task = (await scheduler.call('POST', `${APP_PATH}/web/tasks`, { command: 'sleep 1000', ...options.task })).body as Task;
    await agent.next('task.assign');
    agent.send({ type: 'task.status', taskId: task.id, status: 'RUNNING', at: now() });
    return { agent, task };
  };

  it('closes a silent agent by ping timeout and reports its tasks AGENT_LOST after the grace period', async () => {
    await boot({ TAPIT_HEARTBEAT_INTERVAL_MS: '200', TAPIT_AGENT_LOST_GRACE_SECONDS: '1' });
    const { agent, task } = await agentRunning('mute');
    agent.socket.pause(); // stops reading: no pongs, as on a half-open link
    const agents = await readUntil(async () => (await scheduler.call('GET', '/v1/agents')).body.items, (items) => items[0].status === 'offline');
    expect(agents[0].name).toBe('mute');
    agent.socket.terminate();
    const lost = await readUntil(async () => (await scheduler.call('GET', `/v1/tasks/${task.id}`)).body, (t) => t.status === 'STOPPED');
    expect(lost.stopCode).toBe('AGENT_LOST');
    // When it comes back holding the task, it is told to drop it.
    const back = await ProtocolAgent.connect(scheduler.url, agent.credential, { credential: agent.credential });
    const welcome = await back.hello('mute', { tasks: [{ taskId: task.id, lastSeq: 0, state: 'running' }] });
    expect(welcome.drop).toEqual([task.id]);
    back.close();
  });

  it('after a scheduler outage longer than the grace period, gives agents a whole grace period to come back', async () => {
    const env = { TAPIT_HEARTBEAT_INTERVAL_MS: '200', TAPIT_AGENT_LOST_GRACE_SECONDS: '2' };
    await boot(env);
    const whole = { cpu: 0.25, memoryGb: 0.5 };
    const { agent, task: kept } = await agentRunning('patient', { capacity: whole, task: whole });
    const orphan = await ProtocolAgent.connect(scheduler.url, JOIN_TOKEN);
    await orphan.hello('gone-for-good');
    const lost = (await scheduler.call('POST', `${APP_PATH}/web/tasks`, { command: 'sleep 1000', ...whole })).body;
    await orphan.next('task.assign'); // the only agent with room
    await scheduler.close();
    agent.close();
    orphan.close();
    // The scheduler was down for an hour: every agent was last heard from long ago.
    await database.db.updateTable('agents').set({ last_seen_at: new Date(Date.now() - 3_600_000) }).execute();
    scheduler = await startTestScheduler(database, env);
    await new Promise((r) => setTimeout(r, 1000)); // ten control-loop passes
    expect((await scheduler.call('GET', `/v1/tasks/${kept.id}`)).body.status).toBe('RUNNING');
    const back = await ProtocolAgent.connect(scheduler.url, agent.credential, { credential: agent.credential });
    const welcome = await back.hello('patient', { tasks: [{ taskId: kept.id, lastSeq: 0, state: 'running' }] });
    expect(welcome.drop).toEqual([]);
    // Once the grace period has passed with the scheduler listening, only the silent agent's task is lost.
    const ended = await readUntil(async () => (await scheduler.call('GET', `/v1/tasks/${lost.id}`)).body, (t) => t.status === 'STOPPED');
    expect(ended).toMatchObject({ stopCode: 'AGENT_LOST', agent: 'gone-for-good' });
    expect((await scheduler.call('GET', `/v1/tasks/${kept.id}`)).body.status).toBe('RUNNING');
    back.close();
  });

  it('a database outage longer than the grace period does not make connected agents lost', async () => {
    // Heartbeats are written once a second, the loop runs ten times a second: after the outage
    // the loop reads the stale heartbeats before the next one is written.
    await boot({ TAPIT_HEARTBEAT_INTERVAL_MS: '1000', TAPIT_AGENT_LOST_GRACE_SECONDS: '2' });
    const { agent, task } = await agentRunning('steady');
    await readUntil(async () => (await scheduler.call('GET', `/v1/tasks/${task.id}`)).body.status, (status) => status === 'RUNNING');
    const name = new URL(database.url!).pathname.slice(1);
    const admin = new pg.Client({ connectionString: TEST_ADMIN_URL });
    await admin.connect();
    try {
      // Postgres refuses this database for 3 s: every query of the scheduler fails meanwhile.
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
      await new Promise((r) => setTimeout(r, 3000));
    } finally {
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      await admin.end();
    }
    await readUntil(async () => (await scheduler.call('GET', '/healthz')).status, (status) => status === 200);
    await new Promise((r) => setTimeout(r, 1500)); // loop passes and heartbeats after the outage
    expect((await scheduler.call('GET', `/v1/tasks/${task.id}`)).body.status).toBe('RUNNING');
    agent.close();
  });

  it('sends TIMED_OUT past max_hours, and ends the task itself when the agent is gone', async () => {
    await boot({ TAPIT_DEADLINE_SLACK_SECONDS: '1' });
    const agent = await ProtocolAgent.connect(scheduler.url, JOIN_TOKEN);
    await agent.hello('slow');
    const task = (await scheduler.call('POST', `${APP_PATH}/web/tasks`, { command: 'sleep 1000', maxHours: 0.0003 })).body;
    await agent.next('task.assign');
    agent.send({ type: 'task.status', taskId: task.id, status: 'RUNNING', at: now() });
    const stop = await agent.next('task.stop');
    expect(stop.stopCode).toBe('TIMED_OUT');
    agent.close();
    const ended = await readUntil(async () => (await scheduler.call('GET', `/v1/tasks/${task.id}`)).body, (t) => t.status === 'STOPPED');
    expect(ended.stopCode).toBe('TIMED_OUT');
  });
});

describe('lost assignments', () => {
  it('sends an assignment again when the agent never answered it', { timeout: 60_000 }, async () => {
    const database = await createTestDatabase('postgres', { migrated: false });
    const scheduler = await startTestScheduler(database);
    try {
      await scheduler.call('POST', APP_PATH, { name: 'web', image: 'web:1' });
      const agent = await ProtocolAgent.connect(scheduler.url, JOIN_TOKEN);
      await agent.hello('deaf');
      const task = (await scheduler.call('POST', `${APP_PATH}/web/tasks`, { command: 'true' })).body;
      expect((await agent.next('task.assign')).task.taskId).toBe(task.id);
      // As if that frame had gone to a dead connection: pretend it was sent long ago.
      await database.db.updateTable('tasks').set({ assigned_at: new Date(Date.now() - 60_000) }).where('id', '=', task.id).execute();
      expect((await agent.next('task.assign')).task.taskId).toBe(task.id);
      agent.send({ type: 'task.accepted', taskId: task.id });
      await readUntil(async () => (await database.db.selectFrom('tasks').select('accepted_at').where('id', '=', task.id).executeTakeFirstOrThrow()).accepted_at !== null, (accepted) => accepted);
      await database.db.updateTable('tasks').set({ assigned_at: new Date(Date.now() - 60_000) }).where('id', '=', task.id).execute();
      await new Promise((r) => setTimeout(r, 500));
      expect(agent.pending().filter((f) => f.type === 'task.assign')).toEqual([]);
      agent.close();
    } finally {
      await scheduler.close();
      await database.drop();
    }
  });
});
