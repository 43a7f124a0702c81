import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findApp } from '../apps/repository.js';
import type { AppRow } from '../db/schema.js';
import { assignTasks, beginTasks, transition, type AssignedTask, type NewTask, type StatusChange } from '../tasks/lifecycle.js';
import { readLogLines } from '../testing/log-lines.js';
import { APP_PATH, createTestApp } from '../testing/test-app.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../testing/test-database.js';
import type { TaskOwner } from './ownership.js';
import { reportQueue } from './report-queue.js';
import { applyAcceptedReports, applyStatusReports, type AcceptedFrame, type Acceptance, type Report, type StatusFrame } from './task-reports.js';

// Agents' reports go through a queue that applies many together: each report must still land,
// or be refused, exactly as it would alone, and a task's reports in the order they were sent.

describe.each(DATABASE_KINDS)('report queue on %s', (kind) => {
  let database: TestDatabase;
  let app: AppRow;
  let next = 0;
  beforeAll(async () => {
    database = await createTestDatabase(kind);
    const { call } = await createTestApp(database);
    await call('POST', APP_PATH, { name: 'web', image: 'web:1' });
    app = await findApp(database.db, { project: 'default', stage: 'default', app: 'web' });
  });
  afterAll(() => database.drop());

  const alpha: TaskOwner = { name: 'alpha', since: null };
  const beta: TaskOwner = { name: 'beta', since: null };
  const values = (): NewTask => ({
    id: (++next).toString(16).padStart(32, '0'),
    app_id: app.id,
    image: 'web:1',
    command: JSON.stringify(['true']),
    entrypoint: JSON.stringify(null),
    env: JSON.stringify({}),
    kind: 'background',
    cpu: 0.25,
    memory_gb: 0.5,
    created_by: 'test',
  });
  /** `count` tasks placed on `agent`, PENDING. */
  const placed = async (count: number, agent: TaskOwner = alpha): Promise<AssignedTask[]> => {
    const rows = await beginTasks(database.db, Array.from({ length: count }, values));
    return assignTasks(database.db, rows.map((row) => ({ taskId: row.id, agentName: agent.name })));
  };
  /** Queues that count their flushes and the reports of each. */
  const queues = () => {
    const flushes: { kind: string; size: number }[] = [];
    const accepted = reportQueue<Report<AcceptedFrame>, Acceptance | undefined>(
      (reports) => (flushes.push({ kind: 'accepted', size: reports.length }), applyAcceptedReports(database.db, reports)),
      (report) => report.frame.taskId,
    );
    const statuses = reportQueue<Report<StatusFrame>, StatusChange | undefined>(
      (reports) => (flushes.push({ kind: 'status', size: reports.length }), applyStatusReports(database.db, reports)),
      (report) => report.frame.taskId,
    );
    return { flushes, accepted, statuses };
  };
  const accept = (owner: TaskOwner, taskId: string): Report<AcceptedFrame> => ({ owner, frame: { type: 'task.accepted', taskId } });
  const running = (owner: TaskOwner, taskId: string, extra: Partial<StatusFrame> = {}): Report<StatusFrame> => ({
    owner,
    frame: { type: 'task.status', taskId, status: 'RUNNING', at: new Date().toISOString(), ...extra },
  });
  const trace = async (id: string) => ({
    events: (await database.db.selectFrom('task_events').select(['status']).where('task_id', '=', id).orderBy('id').execute()).map((e) => e.status),
    lines: (await readLogLines(database.db, id, 0, 1000)).map((l) => l.text),
  });
  const row = (id: string) => database.db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  it('applies many reports of many agents in one flush, each landing as it would alone', async () => {
    const onAlpha = await placed(30);
    const onBeta = await placed(30, beta);
    const tasks = [...onAlpha.map((t) => ({ owner: alpha, t })), ...onBeta.map((t) => ({ owner: beta, t }))];
    const { flushes, accepted, statuses } = queues();
    const acceptances = await Promise.all(tasks.map(({ owner, t }) => accepted.submit(accept(owner, t.id))));
    expect(acceptances.every((a) => a?.first === true)).toBe(true);
    const reported = new Date(Date.now() - 1000).toISOString();
    const started = await Promise.all(tasks.map(({ owner, t }) => statuses.submit(running(owner, t.id, { at: reported, imageDigest: `sha256:${t.id}` }))));
    expect(flushes).toEqual([
      { kind: 'accepted', size: 60 },
      { kind: 'status', size: 60 },
    ]);
    for (const [i, { t }] of tasks.entries()) {
      expect(started[i]).toMatchObject({ id: t.id, status: 'RUNNING' });
      const stored = await row(t.id);
      expect(stored).toMatchObject({ status: 'RUNNING', image_digest: `sha256:${t.id}` });
      expect(stored.accepted_at).not.toBeNull();
      // Its own time, not before its last event (PENDING, just now): the clock rule of a single report.
      expect(stored.started_at!.getTime()).toBeGreaterThanOrEqual(Date.parse(reported));
      expect(await trace(t.id)).toEqual({
        events: ['PROVISIONING', 'PENDING', 'RUNNING'],
        lines: ['Task status is PROVISIONING, desired status is RUNNING', 'Task status is PENDING, desired status is RUNNING', 'Task status is RUNNING, desired status is RUNNING'],
      });
    }
    // A re-sent assignment accepted again: stored, but not its first.
    expect(await accepted.submit(accept(alpha, onAlpha[0]!.id))).toMatchObject({ first: false });
  });

  it('refuses, in a flush with others, the reports of tasks stopped, re-placed or not the agent’s meanwhile', async () => {
    const [stopped, replaced, foreign, kept] = await placed(4);
    await transition(database.db, stopped!.id, { from: ['PENDING'], patch: { status: 'STOPPED', desired_status: 'STOPPED', stop_code: 'USER_STOPPED' } });
    await transition(database.db, replaced!.id, { from: ['PENDING'], patch: { status: 'PROVISIONING', agent_name: null } });
    await assignTasks(database.db, [{ taskId: replaced!.id, agentName: 'beta' }]);
    // An agent that took over the name after this task was placed on it learns nothing of it.
    const newcomer: TaskOwner = { name: 'alpha', since: new Date(Date.now() + 60_000) };
    const { flushes, accepted, statuses } = queues();
    const acceptances = await Promise.all([
      accepted.submit(accept(alpha, stopped!.id)),
      accepted.submit(accept(alpha, replaced!.id)),
      accepted.submit(accept(newcomer, foreign!.id)),
      accepted.submit(accept(alpha, kept!.id)),
    ]);
    expect(acceptances.map((a) => a?.first)).toEqual([true, undefined, undefined, true]);
    const outcomes = await Promise.all([
      statuses.submit(running(alpha, stopped!.id)),
      statuses.submit(running(alpha, replaced!.id)),
      statuses.submit(running(newcomer, foreign!.id)),
      statuses.submit(running(alpha, kept!.id)),
    ]);
    expect(flushes.map((f) => f.size)).toEqual([4, 4]);
    expect(outcomes.map((o) => o?.status)).toEqual([undefined, undefined, undefined, 'RUNNING']);
    expect(await row(stopped!.id)).toMatchObject({ status: 'STOPPED' });
    expect(await row(replaced!.id)).toMatchObject({ status: 'PENDING', agent_name: 'beta', accepted_at: null });
    expect(await row(foreign!.id)).toMatchObject({ status: 'PENDING', accepted_at: null });
    expect((await trace(stopped!.id)).events).toEqual(['PROVISIONING', 'PENDING', 'STOPPED']);
    expect((await trace(replaced!.id)).events).toEqual(['PROVISIONING', 'PENDING', 'PROVISIONING', 'PENDING']);
  });

  it("keeps a task's reports in the order they were sent: never two of one task in one flush", async () => {
    const [task, other] = await placed(2);
    const { flushes, statuses } = queues();
    const at = () => new Date().toISOString();
    const outcomes = await Promise.all([
      statuses.submit(running(alpha, task!.id)),
      statuses.submit(running(alpha, other!.id)),
      statuses.submit({ owner: alpha, frame: { type: 'task.status', taskId: task!.id, status: 'STOPPING', at: at() } }),
      // A repeat of a report already applied changes nothing.
      statuses.submit(running(alpha, task!.id)),
    ]);
    expect(flushes.map((f) => f.size)).toEqual([2, 1, 1]);
    expect(outcomes.map((o) => o?.status)).toEqual(['RUNNING', 'RUNNING', 'STOPPING', undefined]);
    expect((await trace(task!.id)).events).toEqual(['PROVISIONING', 'PENDING', 'RUNNING', 'STOPPING']);
  });

  it('fails only the report the database refuses; the others of its flush land', async () => {
    const [bad, good] = await placed(2);
    const { flushes, statuses } = queues();
    const [refused, landed] = await Promise.allSettled([statuses.submit(running(alpha, bad!.id, { at: 'not a time' })), statuses.submit(running(alpha, good!.id))]);
    expect(refused.status).toBe('rejected');
    expect(landed).toMatchObject({ status: 'fulfilled', value: { id: good!.id, status: 'RUNNING' } });
    // The flush of both, then each on its own.
    expect(flushes.map((f) => f.size)).toEqual([2, 1, 1]);
    expect(await row(bad!.id)).toMatchObject({ status: 'PENDING' });
  });
});
