import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, readUntil } from '../testing/eventually.js';
import { ProtocolAgent } from '../testing/protocol-agent.js';
import { endTask, firingSettings, holdRunning, runsOf, tasksOf } from '../testing/schedules.js';
import { APP_PATH, createTestApp } from '../testing/test-app.js';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';
import { JOIN_TOKEN, startTestScheduler } from '../testing/test-scheduler.js';
import { formatInZone } from './cron-spec.js';
import { fireDueSchedules } from './firing-pass.js';
import { settleFinishedRuns } from './run-outcomes.js';

/** Fires until the schedule has `count` runs (a seconds-level schedule: one more each second). */
async function fireUntilRuns(database: TestDatabase, id: string, count: number) {
  return readUntil(
    async () => {
      await fireDueSchedules(database.db, firingSettings());
      return runsOf(database.db, id);
    },
    (runs) => runs.length >= count,
  );
}

describe('concurrency policies against a previous run still running', () => {
  let database: TestDatabase;
  let call: Awaited<ReturnType<typeof createTestApp>>['call'];
  const create = async (concurrency: string) =>
    (await call('POST', `${APP_PATH}/long/schedules`, { cron: '*/1 * * * * *', concurrency, command: 'sleep 3600' })).body.id as string;

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    ({ call } = await createTestApp(database));
    await call('POST', APP_PATH, { name: 'long', image: 'long:1' });
  });
  afterAll(() => database.drop());

  it('allow: the next slot runs beside it', async () => {
    const id = await create('allow');
    const [first] = await fireUntilRuns(database, id, 1);
    const [task] = await tasksOf(database.db, id);
    await holdRunning(database.db, task!.id);
    const runs = await fireUntilRuns(database, id, 2);
    expect(runs.map((r) => r.outcome)).toEqual(['running', 'running']);
    const tasks = await tasksOf(database.db, id);
    expect(tasks.map((t) => [t.scheduled_for, t.status])).toEqual([[first!.scheduled_for, 'RUNNING'], [runs[1]!.scheduled_for, 'PROVISIONING']]);
    await call('DELETE', `/v1/schedules/${id}`);
  });

  it('forbid: each slot meanwhile is skipped naming the running task; after it ends slots run again', async () => {
    const id = await create('forbid');
    await fireUntilRuns(database, id, 1);
    const [task] = await tasksOf(database.db, id);
    await holdRunning(database.db, task!.id);
    const runs = await fireUntilRuns(database, id, 3);
    for (const run of runs.slice(1)) {
      expect(run).toMatchObject({ outcome: 'skipped', missed: false, reason: `task ${task!.id} was still running (concurrency=forbid)` });
    }
    expect(await tasksOf(database.db, id)).toHaveLength(1);
    const skips = await database.db.selectFrom('audit_events').select('details').where('target_id', '=', id).where('action', '=', 'schedule.skip').execute();
    expect(skips.length).toBe(runs.length - 1);
    // A skip by policy is not a failure.
    expect((await call('GET', `/v1/schedules/${id}`)).body.failing).toBe(false);

    await endTask(database.db, task!.id, 'EXITED', 0);
    await settleFinishedRuns(database.db, 1000);
    expect((await runsOf(database.db, id))[0]).toMatchObject({ outcome: 'succeeded', reason: null });
    const after = await readUntil(
      async () => {
        await fireDueSchedules(database.db, firingSettings());
        return tasksOf(database.db, id);
      },
      (tasks) => tasks.length >= 2,
    );
    expect(after[1]!.status).toBe('PROVISIONING');
    await call('DELETE', `/v1/schedules/${id}`);
  });

  it('replace: the running task is asked to stop, naming the run that replaces it; its run ends stopped', async () => {
    const id = await create('replace');
    await fireUntilRuns(database, id, 1);
    const [task] = await tasksOf(database.db, id);
    await holdRunning(database.db, task!.id);
    const runs = await fireUntilRuns(database, id, 2);
    const reason = `replaced by the ${formatInZone(runs[1]!.scheduled_for, 'UTC')} run of schedule ${id}`;
    const tasks = await tasksOf(database.db, id);
    expect(tasks[0]).toMatchObject({ id: task!.id, status: 'RUNNING', desired_status: 'STOPPED', stopped_by: `schedule ${id}`, stop_reason: reason });
    expect(tasks[1]).toMatchObject({ scheduled_for: runs[1]!.scheduled_for, status: 'PROVISIONING', desired_status: 'RUNNING' });
    // Stopped by the policy as a user stop is: the run is stopped, never retried.
    await endTask(database.db, task!.id, 'USER_STOPPED', 143, reason);
    await settleFinishedRuns(database.db, 1000);
    expect((await runsOf(database.db, id))[0]).toMatchObject({ outcome: 'stopped', reason: `task ${task!.id} was stopped by schedule ${id} - ${reason}` });
    await call('DELETE', `/v1/schedules/${id}`);
  });
});

describe('concurrency=replace through a running scheduler and an agent', () => {
  let database: TestDatabase;
  let scheduler: Awaited<ReturnType<typeof startTestScheduler>>;
  let agent: ProtocolAgent;

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    scheduler = await startTestScheduler(database);
    agent = await ProtocolAgent.connect(scheduler.url, JOIN_TOKEN);
    await agent.hello('replace-agent');
    await scheduler.call('POST', APP_PATH, { name: 'job', image: 'job:1' });
  });
  afterAll(async () => {
    agent.close();
    await scheduler.close();
    await database.drop();
  });

  it('sends the old task a stop whose reason names the new run, and records the old run as stopped', async () => {
    const now = () => new Date().toISOString();
    const usage = { peakMemoryBytes: null, cpuSeconds: null, diskBytes: null };
    const created = await scheduler.call('POST', `${APP_PATH}/job/schedules`, { cron: '*/2 * * * * *', concurrency: 'replace', command: 'sleep 3600' });
    const id = created.body.id as string;
    const first = await agent.next('task.assign');
    agent.send({ type: 'task.accepted', taskId: first.task.taskId });
    agent.send({ type: 'task.status', taskId: first.task.taskId, status: 'RUNNING', at: now() });
    const stop = await agent.next('task.stop');
    expect(stop.taskId).toBe(first.task.taskId);
    expect(stop.stopCode).toBe('USER_STOPPED');
    expect(stop.reason).toMatch(new RegExp(`^replaced by the \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\+00:00 run of schedule ${id}$`));
    agent.send({ type: 'task.exited', taskId: first.task.taskId, stopCode: 'USER_STOPPED', exitCode: 143, reason: stop.reason, usage, startedAt: now(), finishedAt: now(), lastSeq: 0 });
    const second = await agent.next('task.assign');
    const task = await scheduler.call('GET', `/v1/tasks/${second.task.taskId}`);
    expect(task.body.scheduleId).toBe(id);
    expect(stop.reason).toContain(formatInZone(new Date(task.body.scheduledFor), 'UTC'));
    await eventually(async () => {
      const detail = await scheduler.call('GET', `/v1/schedules/${id}`);
      const old = detail.body.runs.find((r: { attempts: { taskId: string }[] }) => r.attempts[0]?.taskId === first.task.taskId);
      return old?.outcome === 'stopped' && old.reason.includes(stop.reason);
    }, 'the replaced run is recorded as stopped');
    const old = await scheduler.call('GET', `/v1/tasks/${first.task.taskId}`);
    expect(old.body).toMatchObject({ status: 'STOPPED', stopCode: 'USER_STOPPED', stopReason: stop.reason, stoppedBy: `schedule ${id}` });
    await scheduler.call('DELETE', `/v1/schedules/${id}`);
  });
});
