import { CreateTaskRequest, type Task } from '@tapit/protocol';
import { sql } from 'kysely';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { randomSecretBox } from '../testing/random-secret-box.js';
import { findApp } from '../apps/repository.js';
import { storeTask } from '../testing/stored-task.js';
import { TaskSignals } from '../tasks/task-signals.js';
import { eventually, readUntil } from '../testing/eventually.js';
import { ProtocolAgent } from '../testing/protocol-agent.js';
import { APP_PATH, createTestApp } from '../testing/test-app.js';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';
import { JOIN_TOKEN, startTestScheduler } from '../testing/test-scheduler.js';
import { ControlLoop } from './control-loop.js';
import { CONTROL_PASSES, FailedAfterChanges, type ControlPass, type PassContext } from './control-passes.js';
import { AgentGateway } from './gateway.js';

// The control loop's passes are independent: one that fails (a bug, a bad row) is logged and
// the others still run; only the database being away ends a run, logged once per outage.

const DATABASE_GONE = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

describe('control loop passes', () => {
  let database: TestDatabase;
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
    await database.drop();
  });

  it('still sends a stop while placement fails on every run (through a real scheduler and agent)', async () => {
    database = await createTestDatabase('postgres', { migrated: false });
    const logged: string[] = [];
    const scheduler = await startTestScheduler(database, {}, (line) => logged.push(line));
    cleanup.push(() => scheduler.close());
    await scheduler.call('POST', APP_PATH, { name: 'web', image: 'web:1' });
    const agent = await ProtocolAgent.connect(scheduler.url, JOIN_TOKEN);
    cleanup.push(() => agent.close());
    await agent.hello('alpha');
    const running = (await scheduler.call('POST', `${APP_PATH}/web/tasks`, { command: 'sleep 1000' })).body as Task;
    await agent.next('task.assign');
    agent.send({ type: 'task.status', taskId: running.id, status: 'RUNNING', at: new Date().toISOString() });
    await readUntil(async () => (await scheduler.call('GET', `/v1/tasks/${running.id}`)).body.status, (s) => s === 'RUNNING');

    // From now on every placement fails in the database, as a bad row or a bug would make it.
    await sql`
      CREATE FUNCTION refuse_placement() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'placement refused for this test'; END $$
    `.execute(database.db);
    await sql`
      CREATE TRIGGER refuse_placement BEFORE UPDATE ON tasks FOR EACH ROW
      WHEN (OLD.status = 'PROVISIONING' AND NEW.status = 'PENDING') EXECUTE FUNCTION refuse_placement()
    `.execute(database.db);
    const waiting = (await scheduler.call('POST', `${APP_PATH}/web/tasks`, { command: 'echo waiting' })).body as Task;
    await eventually(() => logged.some((l) => l.includes('the placement pass failed') && l.includes('placement refused for this test')), 'placement failure logged');

    // The stop is still sent: the stops pass runs after the failed placement.
    expect((await scheduler.call('POST', `/v1/tasks/${running.id}/stop`)).status).toBe(202);
    const stop = await agent.next('task.stop');
    expect(stop).toMatchObject({ taskId: running.id, stopCode: 'USER_STOPPED' });
    expect((await scheduler.call('GET', `/v1/tasks/${running.id}`)).body.status).toBe('STOPPING');
    expect((await scheduler.call('GET', `/v1/tasks/${waiting.id}`)).body.status).toBe('PROVISIONING');
    // Failing the same way on every poll is one line, not one a poll.
    expect(logged.filter((l) => l.includes('the placement pass failed'))).toHaveLength(1);
  });

  /** A loop on the test database with `passes`, its gateway real but with no agent connected. */
  const loopWith = (passes: readonly ControlPass[], log: (line: string) => void, signals = new TaskSignals()) => {
    const gateway = new AgentGateway({ db: database.db, signals, schedulerId: 'test', joinToken: undefined, heartbeatIntervalMs: 1000, agentLostGraceSeconds: 1, maxConnections: 10, secrets: randomSecretBox(), log });
    cleanup.push(() => gateway.close());
    const loop = new ControlLoop({ db: database.db, gateway, signals, pollIntervalMs: 1000, agentLostGraceSeconds: 1, heartbeatIntervalMs: 1000, deadlineSlackSeconds: 0, log, passes });
    cleanup.push(() => loop.stop());
    return loop;
  };

  it('runs every pass after one that throws: backstops still end an overdue task', async () => {
    database = await createTestDatabase('postgres');
    const { call } = await createTestApp(database);
    await call('POST', APP_PATH, { name: 'web', image: 'web:1' });
    const app = await findApp(database.db, { project: 'default', stage: 'default', app: 'web' });
    const { id } = await storeTask(database.db, app, CreateTaskRequest.parse({ command: 'sleep 1000', maxHours: 1 }));
    // Running for two hours on an agent that never reports again: past max_hours and the slack.
    await database.db.updateTable('tasks').set({ status: 'RUNNING', agent_name: 'gone', started_at: sql<Date>`now() - interval '2 hours'` }).where('id', '=', id).execute();

    const logged: string[] = [];
    const ran: string[] = [];
    const broken: ControlPass = { name: 'broken', run: () => Promise.reject(new Error('a bug in this pass')) };
    const witness: ControlPass = { name: 'witness', run: async () => void ran.push('witness') };
    const loop = loopWith([broken, ...CONTROL_PASSES, witness], (line) => logged.push(line));
    await loop.pass();
    await loop.pass();

    const task = await database.db.selectFrom('tasks').select(['status', 'stop_code']).where('id', '=', id).executeTakeFirstOrThrow();
    expect(task).toEqual({ status: 'STOPPED', stop_code: 'TIMED_OUT' });
    expect(ran).toEqual(['witness', 'witness']);
    expect(logged).toEqual(['control loop: the broken pass failed: a bug in this pass']);
  });

  it('ends a run when the database is unavailable, logs the outage once, and gives agents a new grace period after it', async () => {
    database = await createTestDatabase('postgres');
    const logged: string[] = [];
    let databaseAway = true;
    const seen: { pass: string; listeningSince: number }[] = [];
    const probe = (name: string): ControlPass => ({ name, run: async (context: PassContext) => void seen.push({ pass: name, listeningSince: context.listeningSince }) });
    const needsDatabase: ControlPass = {
      name: 'needs-database',
      run: async () => {
        if (databaseAway) throw DATABASE_GONE();
      },
    };
    const loop = loopWith([probe('before'), needsDatabase, probe('after')], (line) => logged.push(line));
    await loop.pass();
    const outageStarted = Date.now();
    // Past the outage bound (one second), still failing.
    while (Date.now() - outageStarted < 1100) {
      await new Promise((r) => setTimeout(r, 50));
      await loop.pass();
    }
    expect(seen.filter((s) => s.pass === 'after')).toEqual([]); // the run ended at the failure
    expect(logged.filter((l) => l.includes('the database is unavailable'))).toHaveLength(1);

    databaseAway = false;
    const back = Date.now();
    await loop.pass();
    expect(logged.at(-1)).toMatch(/^control loop: the database answers again after \d+\.\d s$/);
    // The first run after the outage listens anew: no agent is judged on a silence from before.
    const after = seen.filter((s) => s.pass === 'after');
    expect(after).toHaveLength(1);
    expect(after[0].listeningSince).toBeGreaterThanOrEqual(back);
  });

  it('runs only its onSignal passes when work is signalled, every pass on the poll, and a poll asked for during a signalled run after it', async () => {
    database = await createTestDatabase('postgres');
    const signals = new TaskSignals();
    const ran: string[] = [];
    let release: (() => void) | null = null;
    let holdFirst = true;
    const urgent: ControlPass = {
      name: 'urgent',
      onSignal: true,
      run: async () => {
        ran.push('urgent');
        if (holdFirst) await new Promise<void>((r) => ((holdFirst = false), (release = r)));
      },
    };
    const routine: ControlPass = { name: 'routine', run: async () => void ran.push('routine') };
    const loop = loopWith([urgent, routine], () => undefined, signals);

    // A signal: the urgent pass alone; a poll while it runs is run after it, whole.
    signals.workAvailable();
    await vi.waitFor(() => expect(release).not.toBeNull());
    const poll = loop.pass();
    release!();
    await poll;
    await vi.waitFor(() => expect(ran).toEqual(['urgent', 'urgent', 'routine']));

    ran.length = 0;
    signals.workAvailable();
    await vi.waitFor(() => expect(ran).toEqual(['urgent']));
    // A poll once the signalled run is over: every pass.
    await vi.waitFor(() => expect((loop as unknown as { running: boolean }).running).toBe(false));
    await loop.pass();
    expect(ran).toEqual(['urgent', 'urgent', 'routine']);
  });

  it("wakes the followers of what a failing pass changed before it failed, and logs the failure's cause", async () => {
    database = await createTestDatabase('postgres');
    const signals = new TaskSignals();
    const woken: string[] = [];
    signals.onTaskChanged('t1', () => woken.push('t1'));
    const logged: string[] = [];
    const partly: ControlPass = { name: 'partly', run: () => Promise.reject(new FailedAfterChanges(new Error('deadlock detected'), ['t1'])) };
    await loopWith([partly], (line) => logged.push(line), signals).pass();
    expect(woken).toEqual(['t1']);
    expect(logged).toEqual(['control loop: the partly pass failed: deadlock detected']);
  });
});
