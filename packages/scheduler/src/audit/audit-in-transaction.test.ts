import type { Task } from '@tapit/protocol';
import { sql } from 'kysely';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../testing/eventually.js';
import { ProtocolAgent } from '../testing/protocol-agent.js';
import { ADMIN_TOKEN, APP_PATH, createTestApp } from '../testing/test-app.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../testing/test-database.js';
import { JOIN_TOKEN, startTestScheduler } from '../testing/test-scheduler.js';

// An audit event is written in the transaction of the change it records: when the audit row
// cannot be written, the change does not happen either (no change without its record).

/** Makes every insert of an audit event with `action` fail, as a full disk or a bug would. */
async function refuseAudit(database: TestDatabase, action: string): Promise<() => Promise<void>> {
  await sql`ALTER TABLE audit_events ADD CONSTRAINT refuse_for_test CHECK (action <> ${sql.lit(action)})`.execute(database.db);
  return async () => void (await sql`ALTER TABLE audit_events DROP CONSTRAINT refuse_for_test`.execute(database.db));
}

describe.each(DATABASE_KINDS)('audit events in the transaction of their change, on %s', (kind) => {
  let database: TestDatabase;
  let call: Awaited<ReturnType<typeof createTestApp>>['call'];
  let allow: (() => Promise<void>) | undefined;
  const internalErrors: string[] = [];
  const levels: (string | undefined)[] = [];

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    ({ call } = await createTestApp(database, { log: (line, level) => (internalErrors.push(line), levels.push(level)) }));
    await call('POST', APP_PATH, { name: 'web', image: 'web:1' });
  });
  afterEach(async () => {
    await allow?.();
    allow = undefined;
  });
  afterAll(() => database.drop());

  const audited = async (action: string) => (await database.db.selectFrom('audit_events').select('id').where('action', '=', action).execute()).length;
  const newTask = async () => (await call('POST', `${APP_PATH}/web/tasks`, { command: 'sleep 1000' })).body as Task;
  const offlineAgent = async (name: string) => {
    await database.db
      .insertInto('agents')
      .values({ name, status: 'offline', capacity_cpu: 1, capacity_memory_gb: 1, version: 'test', scheduler_id: null, connected_at: null, last_seen_at: new Date(), not_ready_reason: null, credential_hash: null, bound_at: null, joined_with: null, revoked_at: null, capacity_cpu_set: null, capacity_memory_gb_set: null })
      .execute();
  };

  it('stopping a task', async () => {
    const task = await newTask();
    allow = await refuseAudit(database, 'task.stop');
    expect((await call('POST', `/v1/tasks/${task.id}/stop`)).status).toBe(500);
    expect((await call('GET', `/v1/tasks/${task.id}`)).body).toMatchObject({ status: 'PROVISIONING', desiredStatus: 'RUNNING', stoppedBy: null });
    const lines = (await call('GET', `/v1/tasks/${task.id}/logs`)).body.lines as { text: string }[];
    expect(lines.map((l) => l.text)).toEqual(['Task status is PROVISIONING, desired status is RUNNING']);
    await allow();
    allow = undefined;
    expect((await call('POST', `/v1/tasks/${task.id}/stop`)).status).toBe(202);
    expect(await audited('task.stop')).toBe(1);
  });

  it('deleting a task', async () => {
    const task = await newTask();
    await call('POST', `/v1/tasks/${task.id}/stop`);
    allow = await refuseAudit(database, 'task.delete');
    expect((await call('DELETE', `/v1/tasks/${task.id}`)).status).toBe(500);
    expect((await call('GET', `/v1/tasks/${task.id}`)).body.status).toBe('STOPPED');
  });

  it('updating an app', async () => {
    allow = await refuseAudit(database, 'app.update');
    expect((await call('PATCH', `${APP_PATH}/web`, { constraints: { gpu: 'yes' } })).status).toBe(500);
    expect((await call('GET', `${APP_PATH}/web`)).body.constraints).toEqual({});
  });

  it('revoking a token: it keeps working', async () => {
    const { token } = (await call('POST', '/v1/tokens', { name: 'keeper', role: 'viewer' })).body;
    allow = await refuseAudit(database, 'token.revoke');
    expect((await call('DELETE', '/v1/tokens/keeper')).status).toBe(500);
    expect((await call('GET', '/v1/whoami', undefined, token)).status).toBe(200);
  });

  it('revoking a join token', async () => {
    await call('POST', '/v1/join-tokens', { name: 'door' });
    allow = await refuseAudit(database, 'join-token.revoke');
    expect((await call('DELETE', '/v1/join-tokens/door')).status).toBe(500);
    const listed = (await call('GET', '/v1/join-tokens')).body.items as { name: string; revokedAt: string | null }[];
    expect(listed.find((t) => t.name === 'door')?.revokedAt).toBeNull();
  });

  it('draining, revoking and deleting an agent; the tasks it held stay as they were', async () => {
    await offlineAgent('held');
    const task = await newTask();
    await database.db.updateTable('tasks').set({ status: 'RUNNING', agent_name: 'held' }).where('id', '=', task.id).execute();

    allow = await refuseAudit(database, 'agent.update');
    expect((await call('PATCH', '/v1/agents/held', { drained: true })).status).toBe(500);
    await allow();
    allow = await refuseAudit(database, 'agent.revoke');
    expect((await call('POST', '/v1/agents/held/revoke')).status).toBe(500);
    await allow();
    allow = await refuseAudit(database, 'agent.delete');
    expect((await call('DELETE', '/v1/agents/held')).status).toBe(500);

    const agent = await database.db.selectFrom('agents').select(['drained', 'revoked_at']).where('name', '=', 'held').executeTakeFirst();
    expect(agent).toEqual({ drained: false, revoked_at: null });
    expect((await call('GET', `/v1/tasks/${task.id}`)).body).toMatchObject({ status: 'RUNNING', stopCode: null });
  });

  it('answered each refusal as an internal error, logged with its cause', () => {
    expect(internalErrors.length).toBeGreaterThan(0);
    expect(internalErrors.every((l) => l.startsWith('internal error on ') && l.includes('refuse_for_test'))).toBe(true);
    // At level error: a log pipeline keeping warn and above keeps it.
    expect(new Set(levels)).toEqual(new Set(['error']));
  });
});

describe('console sessions and their audit events', () => {
  let database: TestDatabase;
  let scheduler: Awaited<ReturnType<typeof startTestScheduler>>;
  let agent: ProtocolAgent;
  beforeAll(async () => {
    database = await createTestDatabase('postgres', { migrated: false });
    scheduler = await startTestScheduler(database);
    await scheduler.call('POST', APP_PATH, { name: 'web', image: 'web:1' });
    agent = await ProtocolAgent.connect(scheduler.url, JOIN_TOKEN);
    await agent.hello('alpha');
  });
  afterAll(async () => {
    agent.close();
    await scheduler.close();
    await database.drop();
  });

  it('opens no session whose attach cannot be audited', async () => {
    const task = (await scheduler.call('POST', `${APP_PATH}/web/tasks`, { command: 'bash', kind: 'interactive' })).body as Task;
    await agent.next('task.assign');
    agent.send({ type: 'task.status', taskId: task.id, status: 'RUNNING', at: new Date().toISOString() });
    await eventually(async () => (await scheduler.call('GET', `/v1/tasks/${task.id}`)).body.status === 'RUNNING', 'task running');
    await sql`ALTER TABLE audit_events ADD CONSTRAINT refuse_for_test CHECK (action <> 'console.attach')`.execute(database.db);

    const client = new WebSocket(`${scheduler.url.replace(/^http/, 'ws')}/v1/tasks/${task.id}/console`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    await new Promise<void>((resolve) => {
      client.on('close', () => resolve());
      client.on('error', () => resolve());
    });
    expect(await database.db.selectFrom('console_sessions').select('id').where('task_id', '=', task.id).execute()).toEqual([]);
    // The agent was never asked to open it.
    expect(agent.pending().filter((f) => f.type === 'console.open')).toEqual([]);
  });
});
