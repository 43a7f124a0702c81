import { CreateTaskRequest } from '@tapit/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findApp } from '../apps/repository.js';
import { readLogLines } from '../testing/log-lines.js';
import type { AppRow } from '../db/schema.js';
import { APP_PATH, createTestApp } from '../testing/test-app.js';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';
import { assignTasks, beginTask, beginTasks, startTasks, transition, type NewTask } from './lifecycle.js';
import { storeTask } from '../testing/stored-task.js';

// Every status a task takes, its first included, leaves the same trace: the row, a task event
// and the [system] line, written together.

describe('task lifecycle', () => {
  let database: TestDatabase;
  let app: AppRow;
  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    const { call } = await createTestApp(database);
    await call('POST', APP_PATH, { name: 'web', image: 'web:1' });
    app = await findApp(database.db, { project: 'default', stage: 'default', app: 'web' });
  });
  afterAll(() => database.drop());

  const trace = async (id: string) => ({
    events: (await database.db.selectFrom('task_events').select(['status', 'desired_status', 'message']).where('task_id', '=', id).orderBy('id').execute()).map((e) => [e.status, e.desired_status, e.message]),
    lines: (await readLogLines(database.db, id, 0, 1000)).map((l) => `${l.stream}:${l.text}`),
  });
  // Columns that may be null are left out: the insert stores null.
  const values = (id: string): NewTask => ({
    id,
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

  it('a task created through the API is born through the lifecycle, as its later statuses are recorded', async () => {
    const { id } = await storeTask(database.db, app, CreateTaskRequest.parse({ command: 'true' }));
    await transition(database.db, id, { from: ['PROVISIONING'], patch: { status: 'STOPPED', desired_status: 'STOPPED', stop_code: 'USER_STOPPED' } });
    expect(await trace(id)).toEqual({
      events: [
        ['PROVISIONING', 'RUNNING', null],
        ['STOPPED', 'STOPPED', null],
      ],
      lines: ['system:Task status is PROVISIONING, desired status is RUNNING', 'system:Task status is STOPPED, desired status is STOPPED'],
    });
  });

  it('beginTask keeps a message with the first event and as its own line', async () => {
    const row = await beginTask(database.db, values('1'.repeat(32)), { message: 'Created by schedule s1 for its 02:30 slot' });
    expect(row).toMatchObject({ status: 'PROVISIONING', desired_status: 'RUNNING' });
    expect(await trace(row.id)).toEqual({
      events: [['PROVISIONING', 'RUNNING', 'Created by schedule s1 for its 02:30 slot']],
      lines: ['system:Task status is PROVISIONING, desired status is RUNNING', 'system:Created by schedule s1 for its 02:30 slot'],
    });
  });

  it('beginTasks writes each task its own first lines, at positions 1 and 2 of its log, with its byte count', async () => {
    const rows = await beginTasks(database.db, [values('3'.repeat(32)), values('4'.repeat(32)), values('5'.repeat(32))], { message: 'Created by schedule s2' });
    for (const row of rows) {
      expect(await trace(row.id)).toEqual({
        events: [['PROVISIONING', 'RUNNING', 'Created by schedule s2']],
        lines: ['system:Task status is PROVISIONING, desired status is RUNNING', 'system:Created by schedule s2'],
      });
      expect((await readLogLines(database.db, row.id, 0, 10)).map((line) => line.position)).toEqual([1, 2]);
    }
    const counters = await database.db.selectFrom('tasks').select(['log_count', 'log_bytes']).where('id', 'in', rows.map((row) => row.id)).execute();
    const bytes = Buffer.byteLength('Task status is PROVISIONING, desired status is RUNNING\nCreated by schedule s2\n');
    expect(counters).toEqual(rows.map(() => ({ log_count: 2, log_bytes: bytes })));
  });

  it('beginTask in a caller transaction that rolls back leaves no row, event or line', async () => {
    const id = '2'.repeat(32);
    await expect(
      database.db.transaction().execute(async (trx) => {
        await beginTask(trx, values(id));
        throw new Error('the caller changed its mind');
      }),
    ).rejects.toThrow('the caller changed its mind');
    expect(await database.db.selectFrom('tasks').select('id').where('id', '=', id).execute()).toEqual([]);
    expect(await trace(id)).toEqual({ events: [], lines: [] });
  });

  it('assignTasks and startTasks leave each task its events and lines at the next positions, with the counters moved by the status UPDATE itself', async () => {
    const ids = ['6'.repeat(32), '7'.repeat(32)];
    await beginTasks(database.db, ids.map(values));
    const assigned = await assignTasks(database.db, ids.map((taskId) => ({ taskId, agentName: 'a1' })));
    expect(assigned.map((row) => [row.id, row.status, row.log_count])).toEqual(ids.map((id) => [id, 'PENDING', 2]));
    expect(await database.db.selectFrom('tasks').select(['id', 'agent_name']).where('id', 'in', ids).orderBy('id').execute()).toEqual(ids.map((id) => ({ id, agent_name: 'a1' })));
    // A stop asked for while it was PENDING: its RUNNING line says so (RUNNING and STOPPED are as
    // long, so here the line's text tells the counter's CASE branches apart, not its bytes).
    await database.db.updateTable('tasks').set({ desired_status: 'STOPPED' }).where('id', '=', ids[1]!).execute();
    const started = await startTasks(database.db, ids.map((taskId) => ({ taskId, at: new Date() })));
    expect(started.map((row) => row.log_count)).toEqual([3, 3]);
    const expected = (desired: string) => [
      'system:Task status is PROVISIONING, desired status is RUNNING',
      'system:Task status is PENDING, desired status is RUNNING',
      `system:Task status is RUNNING, desired status is ${desired}`,
    ];
    for (const [id, desired] of [[ids[0]!, 'RUNNING'], [ids[1]!, 'STOPPED']] as const) {
      expect(await trace(id)).toEqual({
        events: [
          ['PROVISIONING', 'RUNNING', null],
          ['PENDING', 'RUNNING', null],
          ['RUNNING', desired, null],
        ],
        lines: expected(desired),
      });
      expect((await readLogLines(database.db, id, 0, 10)).map((line) => line.position)).toEqual([1, 2, 3]);
      const row = await database.db.selectFrom('tasks').select(['log_count', 'log_bytes']).where('id', '=', id).executeTakeFirstOrThrow();
      expect(row).toEqual({ log_count: 3, log_bytes: Buffer.byteLength(expected(desired).map((line) => `${line.slice('system:'.length)}\n`).join('')) });
    }
    // A task no longer PENDING is left out, and nothing of it is written.
    expect(await startTasks(database.db, [{ taskId: ids[0]!, at: new Date() }])).toEqual([]);
    expect((await trace(ids[0]!)).lines).toHaveLength(3);
  });
});
