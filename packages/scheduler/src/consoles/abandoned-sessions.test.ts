import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_PATH, createTestApp } from '../testing/test-app.js';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';
import { startTestScheduler } from '../testing/test-scheduler.js';
import { RECORDING_FLUSH_MS, ConsoleRecorder } from './recorder.js';
import { closeAbandonedConsoleSessions, HOLDER_GONE_REASON, insertConsoleSession, listConsoleSessions, openRecording } from './repository.js';

/** The whole recording as one string, as the API streams it. */
async function readRecording(...args: Parameters<typeof openRecording>): Promise<string> {
  const { header, events } = await openRecording(...args);
  let cast = header;
  for await (const page of events()) cast += page;
  return cast;
}

describe('console sessions a replica left open when it died', () => {
  let database: TestDatabase;
  let taskId: string;

  const open = async (id: string, schedulerId: string) => {
    await insertConsoleSession(database.db, { id, taskId, mode: 'attach', command: null, tty: true, cols: 80, rows: 24, openedBy: 'bootstrap', source: null, schedulerId });
  };

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    const { call } = await createTestApp(database);
    await call('POST', APP_PATH, { name: 'web', image: 'web:1' });
    taskId = (await call('POST', `${APP_PATH}/web/tasks`, { command: 'sh', kind: 'interactive' })).body.id;
  });
  afterAll(() => database.drop());

  it('records what passed within a fraction of a second, so a kill loses little', async () => {
    await open('a'.repeat(32), 'replica-a');
    const recorder = new ConsoleRecorder(database.db, 'a'.repeat(32), () => {});
    recorder.recordOutput(new TextEncoder().encode('$ echo hello\r\nhello\r\n'));
    // No close(): the process is about to die. The events are stored all the same, promptly.
    const deadline = Date.now() + 20 * RECORDING_FLUSH_MS;
    while (!(await readRecording(database.db, 'a'.repeat(32), null)).includes('hello') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, RECORDING_FLUSH_MS / 2));
    }
    expect(await readRecording(database.db, 'a'.repeat(32), null)).toContain('hello');
  });

  it('closes only its own: the recording ends at its last chunk, marked, and the audit trail says so', async () => {
    await open('b'.repeat(32), 'replica-b');
    expect(await closeAbandonedConsoleSessions(database.db, 'replica-a')).toEqual(['a'.repeat(32)]);

    const sessions = new Map((await listConsoleSessions(database.db, taskId)).map((s) => [s.id, s]));
    expect(sessions.get('a'.repeat(32))).toMatchObject({ endReason: HOLDER_GONE_REASON, closedAt: expect.any(String) });
    expect(sessions.get('b'.repeat(32))).toMatchObject({ endReason: null, closedAt: null });

    const events = (await readRecording(database.db, 'a'.repeat(32), null)).trimEnd().split('\n').slice(1).map((line) => JSON.parse(line) as [number, string, string]);
    const [output, marker] = events.slice(-2) as [[number, string, string], [number, string, string]];
    expect(output[1]).toBe('o');
    expect(marker).toEqual([output[0], 'm', expect.stringContaining('the scheduler relaying this session stopped')]);

    const audit = await database.db.selectFrom('audit_events').selectAll().where('target_id', '=', taskId).execute();
    expect(audit.map((a) => [a.action, a.details])).toContainEqual(['console.detach', expect.objectContaining({ session: 'a'.repeat(32), reason: HOLDER_GONE_REASON })]);
    // Once is enough: a second start finds nothing of its own left open.
    expect(await closeAbandonedConsoleSessions(database.db, 'replica-a')).toEqual([]);
  });

  it('is what a replica does at its start, under its TAPIT_SCHEDULER_ID', async () => {
    await open('c'.repeat(32), 'replica-c');
    const scheduler = await startTestScheduler(database, { TAPIT_SCHEDULER_ID: 'replica-c' });
    await scheduler.close();
    const sessions = new Map((await listConsoleSessions(database.db, taskId)).map((s) => [s.id, s]));
    expect(sessions.get('c'.repeat(32))).toMatchObject({ endReason: HOLDER_GONE_REASON });
    expect(sessions.get('b'.repeat(32))).toMatchObject({ endReason: null });
  });
});
