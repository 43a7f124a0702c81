import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProtocolAgent } from '../testing/protocol-agent.js';
import { ADMIN_TOKEN, APP_PATH, createTestApp } from '../testing/test-app.js';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';
import { spawnScheduler, type SchedulerProcess } from '../testing/scheduler-process.js';
import { JOIN_TOKEN } from '../testing/test-scheduler.js';
import type { WebSocket } from 'ws';
import { AgentSession } from './agent-session.js';
import { PLACEMENT_BATCH, PLACEMENT_FILE_BYTES, placeWaitingTasks } from './placement.js';

const TASKS = 300;
const AGENTS_PER_REPLICA = 3;

describe('placement with two scheduler processes on one Postgres', () => {
  let database: TestDatabase;
  let replicas: SchedulerProcess[] = [];
  const agents: { name: string; agent: ProtocolAgent }[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('postgres', { migrated: false });
    const env = { TAPIT_DATABASE_URL: database.url!, TAPIT_BOOTSTRAP_TOKEN: ADMIN_TOKEN, TAPIT_AGENT_JOIN_TOKEN: JOIN_TOKEN, TAPIT_POLL_INTERVAL_MS: '20' };
    // Started together on an empty database: the migrations must take turns.
    replicas = await Promise.all([spawnScheduler(env), spawnScheduler(env)]);
  });
  afterAll(async () => {
    for (const { agent } of agents) agent.close();
    await Promise.all(replicas.map((r) => r.stop()));
    await database.drop();
  });

  it('assigns every task exactly once', async () => {
    for (const [r, replica] of replicas.entries()) {
      for (let i = 0; i < AGENTS_PER_REPLICA; i++) {
        const agent = await ProtocolAgent.connect(replica.url, JOIN_TOKEN);
        const name = `r${r}-agent${i}`;
        // Room for 60 of the 300 tasks (0.01 CPU each) an agent: one replica's agents hold 180 at
        // most, so the other replica must place the rest, however fast the first one is.
        await agent.hello(name, { capacity: { cpu: 0.6, memoryGb: 1000 } });
        agents.push({ name, agent });
      }
    }
    const post = (url: string, path: string, body: unknown) =>
      fetch(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json());
    await post(replicas[0].url, APP_PATH, { name: 'batch', image: 'batch:1' });
    // Created through both replicas at once, so both race for the same queue.
    const created = await Promise.all(
      Array.from({ length: TASKS }, (_, i) => post(replicas[i % 2].url, `${APP_PATH}/batch/tasks`, { command: `echo ${i}`, cpu: 0.01, memoryGb: 0.01 })),
    );
    const ids = new Set(created.map((t: { id: string }) => t.id));
    expect(ids.size).toBe(TASKS);

    const assignedTo = new Map<string, string[]>();
    const deadline = Date.now() + 30_000;
    let received = 0;
    while (received < TASKS && Date.now() < deadline) {
      for (const { name, agent } of agents) {
        for (const frame of agent.pending()) {
          if (frame.type !== 'task.assign') continue;
          await agent.next('task.assign');
          received++;
          assignedTo.set(frame.task.taskId, [...(assignedTo.get(frame.task.taskId) ?? []), name]);
        }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    // Anything assigned twice would arrive late: wait a little longer for stragglers.
    await new Promise((r) => setTimeout(r, 500));
    for (const { agent } of agents) expect(agent.pending().filter((f) => f.type === 'task.assign')).toEqual([]);

    expect([...assignedTo.keys()].sort()).toEqual([...ids].sort());
    const twice = [...assignedTo].filter(([, names]) => names.length > 1);
    expect(twice).toEqual([]);
    const rows = await database.db.selectFrom('tasks').select(['id', 'agent_name', 'status', 'attempt']).execute();
    for (const row of rows) {
      expect(row.status).toBe('PENDING');
      expect(row.attempt).toBe(1);
      expect(assignedTo.get(row.id)).toEqual([row.agent_name]);
    }
    // Both replicas did part of the work.
    const byReplica = new Set(rows.map((r) => r.agent_name!.slice(0, 2)));
    expect(byReplica).toEqual(new Set(['r0', 'r1']));
  });
});

describe('placement of a long queue, several batches at once', () => {
  let database: TestDatabase;
  let replica: SchedulerProcess;
  const agents: ProtocolAgent[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('postgres', { migrated: false });
    replica = await spawnScheduler({ TAPIT_DATABASE_URL: database.url!, TAPIT_BOOTSTRAP_TOKEN: ADMIN_TOKEN, TAPIT_AGENT_JOIN_TOKEN: JOIN_TOKEN });
  });
  afterAll(async () => {
    for (const agent of agents) agent.close();
    await replica.stop();
    await database.drop();
  });

  it('places each task once, never past an agent\'s room, and leaves what does not fit waiting', async () => {
    const post = (path: string, body: unknown) =>
      fetch(`${replica.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json());
    await post(APP_PATH, { name: 'batch', image: 'batch:1' });
    // Queued before any agent comes: the first batch is full, so the next ones are claimed
    // together, and room for two batches' tasks leaves 300 waiting.
    const FITS = 2 * PLACEMENT_BATCH;
    const QUEUED = FITS + 300;
    for (let i = 0; i < QUEUED; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => post(`${APP_PATH}/batch/tasks`, { command: `echo ${i + j}`, cpu: 0.01, memoryGb: 0.01 })));
    // Room for 400 tasks each.
    const names = Array.from({ length: FITS / 400 }, (_, i) => `q${i}`);
    for (const name of names) {
      const agent = await ProtocolAgent.connect(replica.url, JOIN_TOKEN);
      await agent.hello(name, { capacity: { cpu: 4, memoryGb: 1000 } });
      agents.push(agent);
    }
    const received = new Map<string, string[]>();
    const deadline = Date.now() + 30_000;
    let count = 0;
    while (count < FITS && Date.now() < deadline) {
      for (const [i, agent] of agents.entries()) {
        for (const frame of agent.pending()) {
          if (frame.type !== 'task.assign') continue;
          await agent.next('task.assign');
          count++;
          received.set(frame.task.taskId, [...(received.get(frame.task.taskId) ?? []), names[i]!]);
        }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 500));
    for (const agent of agents) expect(agent.pending().filter((f) => f.type === 'task.assign')).toEqual([]);
    expect([...received.values()].filter((to) => to.length > 1)).toEqual([]);
    expect(received.size).toBe(FITS);
    const rows = await database.db.selectFrom('tasks').select(['id', 'status', 'agent_name']).execute();
    const placed = rows.filter((row) => row.status === 'PENDING');
    expect(placed).toHaveLength(FITS);
    expect(rows.filter((row) => row.status === 'PROVISIONING')).toHaveLength(QUEUED - FITS);
    for (const name of names) expect(placed.filter((row) => row.agent_name === name)).toHaveLength(400);
    for (const row of placed) expect(received.get(row.id)).toEqual([row.agent_name]);
  });
});

describe('placement of tasks carrying files', () => {
  let database: TestDatabase;
  afterAll(() => database?.drop());

  it('places a queue whose files exceed one batch in several batches, each within the budget, each cut saying more wait', async () => {
    database = await createTestDatabase('postgres');
    const { call, secrets } = await createTestApp(database);
    await call('POST', APP_PATH, { name: 'files', image: 'files:1' });
    // 30 tasks of 1.5 MiB each: 45 MiB, more than one batch carries.
    const content = Buffer.alloc(1.5 * 1024 * 1024, 7).toString('base64');
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push((await call('POST', `${APP_PATH}/files/tasks`, { command: `cat /data/${i}`, files: [{ path: `/data/${i}`, mode: 0o644, content }], cpu: 0.01, memoryGb: 0.01 })).body.id);
    const sent: { taskId: string; bytes: number }[][] = [];
    let batch: { taskId: string; bytes: number }[] = [];
    const socket = { readyState: 1, OPEN: 1, send: (text: string) => batch.push({ taskId: JSON.parse(text).task.taskId, bytes: text.length }) } as unknown as WebSocket;
    const session = new AgentSession('files-agent', { cpu: 64, memoryGb: 64 }, socket, { ready: true, reason: null });
    let more = true;
    while (more) {
      ({ more } = await placeWaitingTasks(database.db, secrets, [session]));
      sent.push(batch);
      batch = [];
    }
    expect(sent.flat().map((frame) => frame.taskId).sort()).toEqual([...ids].sort());
    expect(sent.filter((frames) => frames.length > 0).length).toBeGreaterThan(1);
    for (const frames of sent) expect(frames.length * 1.5 * 1024 * 1024).toBeLessThanOrEqual(PLACEMENT_FILE_BYTES);
  });

  it('sends each task of a batch its own files, an empty file too, and none to a task without', async () => {
    const { call, secrets } = await createTestApp(database);
    await call('POST', APP_PATH, { name: 'mixed', image: 'files:1' });
    const create = async (files?: { path: string; mode: number; content: string }[]) =>
      (await call('POST', `${APP_PATH}/mixed/tasks`, { command: 'true', cpu: 0.01, memoryGb: 0.01, ...(files ? { files } : {}) })).body.id as string;
    const plain = await create();
    const empty = await create([{ path: '/etc/empty', mode: 0o600, content: '' }]);
    const full = await create([{ path: '/a', mode: 0o644, content: Buffer.from('a').toString('base64') }, { path: '/b', mode: 0o755, content: Buffer.from('bb').toString('base64') }]);
    const frames = new Map<string, { files?: unknown }>();
    const socket = { readyState: 1, OPEN: 1, send: (text: string) => frames.set(JSON.parse(text).task.taskId, JSON.parse(text).task) } as unknown as WebSocket;
    const session = new AgentSession('mixed-agent', { cpu: 64, memoryGb: 64 }, socket, { ready: true, reason: null });
    await placeWaitingTasks(database.db, secrets, [session]);
    expect(frames.get(plain)!.files).toBeUndefined();
    expect(frames.get(empty)!.files).toEqual([{ path: '/etc/empty', mode: 0o600, content: '' }]);
    expect(frames.get(full)!.files).toEqual([
      { path: '/a', mode: 0o644, content: Buffer.from('a').toString('base64') },
      { path: '/b', mode: 0o755, content: Buffer.from('bb').toString('base64') },
    ]);
  });
});
