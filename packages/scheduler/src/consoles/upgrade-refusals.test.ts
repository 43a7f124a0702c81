import type { Task } from '@tapit/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, APP_PATH } from '../testing/test-app.js';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';
import { startTestScheduler } from '../testing/test-scheduler.js';
import { rawUpgrade } from '../testing/raw-upgrade.js';

const LONG_REF = 'a'.repeat(15_000);
// The stranger has an address of its own: its failures must not slow the tests' other calls.
const STRANGER = { localAddress: '127.0.0.2' };

describe('refused console and exec upgrades', () => {
  let database: TestDatabase;
  let scheduler: Awaited<ReturnType<typeof startTestScheduler>>;
  let task: Task;
  const logs: string[] = [];
  const auditCount = async () => Number((await database.db.selectFrom('audit_events').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

  beforeAll(async () => {
    database = await createTestDatabase('postgres', { migrated: false });
    scheduler = await startTestScheduler(database, {}, (line) => logs.push(line));
    await scheduler.call('POST', APP_PATH, { name: 'web', image: 'web:1' });
    task = (await scheduler.call('POST', `${APP_PATH}/web/tasks`, { command: 'bash', kind: 'interactive' })).body;
  });
  afterAll(async () => {
    await scheduler.close();
    await database.drop();
  });

  it('store nothing for a stranger, however many and however long, and are counted in the log instead', async () => {
    const before = await auditCount();
    const answers = [];
    for (let i = 0; i < 60; i++) {
      answers.push(await rawUpgrade(scheduler.url, `/v1/tasks/${LONG_REF}/console`, {}, STRANGER));
      answers.push(await rawUpgrade(scheduler.url, `/v1/tasks/${LONG_REF}/exec`, { authorization: 'Bearer not-a-token-not-a-token' }, STRANGER));
      answers.push(await rawUpgrade(scheduler.url, `/v1/tasks/${task.id}/console`, {}, STRANGER));
      answers.push(await rawUpgrade(scheduler.url, `/v1/tasks/${task.id}/console`, { authorization: `Bearer wrong-${i}-wrong-wrong-wrong` }, STRANGER));
    }
    for (const answer of answers) {
      expect([400, 401, 429]).toContain(answer.status);
      expect(answer.body.length).toBeLessThan(1000);
    }
    expect(await auditCount()).toBe(before);
    const lines = logs.filter((l) => l.includes('authentication failed'));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.length).toBeLessThanOrEqual(2);
    expect(lines.join('\n')).not.toContain('wrong-');
  });

  it('refuse a malformed task reference before anything else, without echoing it', async () => {
    const before = await auditCount();
    const withToken = await rawUpgrade(scheduler.url, `/v1/tasks/${LONG_REF}/console`, { authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(withToken.status).toBe(400);
    expect(JSON.parse(withToken.body).error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'task' });
    expect(withToken.body).not.toContain('aaaaaaaaaa');
    expect(await auditCount()).toBe(before);
    // The same on the HTTP routes, before the token is even looked at.
    for (const path of [`/v1/tasks/${LONG_REF}`, `/v1/tasks/${LONG_REF}/logs`, `/v1/tasks/Task-1/stop`, `/v1/consoles/${LONG_REF}/recording`]) {
      const response = await fetch(`${scheduler.url}${path}`, { method: path.endsWith('stop') ? 'POST' : 'GET' });
      const text = await response.text();
      expect(response.status, path).toBe(400);
      expect(text.length, path).toBeLessThan(300);
    }
  });

  it('audit an authenticated refusal of a real task, with every stored field bounded', async () => {
    const viewer = (await scheduler.call('POST', '/v1/tokens', { name: 'looker', role: 'viewer' })).body.token;
    expect((await rawUpgrade(scheduler.url, `/v1/tasks/${task.id}/console`, { authorization: `Bearer ${viewer}` })).status).toBe(403);
    const strangeKey = 'k'.repeat(10_000);
    const badQuery = await rawUpgrade(scheduler.url, `/v1/tasks/${task.id}/exec?${strangeKey}=1`, { authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(badQuery.status).toBe(400);
    const rows = await database.db.selectFrom('audit_events').selectAll().where('action', 'like', 'console.%.refused').orderBy('id').execute();
    expect(rows.map((r) => [r.actor, r.target_id])).toEqual([
      ['looker', task.id],
      ['bootstrap', task.id],
    ]);
    for (const row of rows) expect(JSON.stringify(row).length).toBeLessThan(1000);
  });

  it('sum the stranger refusals up in the log when the scheduler stops', async () => {
    await scheduler.close();
    const summary = logs.find((l) => /from 127\.0\.0\.2 in the last \d+ s: authentication failed \d+ more times?/.test(l));
    expect(summary).toBeDefined();
    scheduler = await startTestScheduler(database);
  });
});
