import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, APP_PATH } from '../testing/test-app.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../testing/test-database.js';
import { transition } from './lifecycle.js';
import { taskSpecs } from './task-spec.js';

describe.each(DATABASE_KINDS)('a task\'s files on %s', (kind) => {
  let database: TestDatabase;
  let call: Awaited<ReturnType<typeof createTestApp>>['call'];
  const tasks = `${APP_PATH}/files/tasks`;
  const MAX = 4096;
  // Every byte value, NUL and invalid UTF-8 among them.
  const binary = Buffer.concat([Buffer.from([0, 0xff, 0xfe, 0xc3, 0x28]), randomBytes(1000)]);

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    ({ call } = await createTestApp(database, { taskFilesMaxBytes: MAX }));
    await call('POST', APP_PATH, { name: 'files', image: 'registry.local/files:1' });
  });
  afterAll(() => database.drop());

  const specOf = async (id: string) => {
    const row = await database.db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    return (await taskSpecs(database.db, [row]))[0]!;
  };
  const storedFiles = async () => (await database.db.selectFrom('task_files').select(['task_id']).execute()).length;

  it('stores the files with the task and sends them with its assignment, byte for byte, until it runs', async () => {
    const files = [
      { path: '/app/data.bin', mode: 0o600, content: binary.toString('base64') },
      { path: '/usr/local/bin/run-me', mode: 0o755, content: Buffer.from('#!/bin/sh\necho hi\n').toString('base64') },
    ];
    const created = await call('POST', tasks, { command: 'true', files });
    expect(created.status).toBe(201);
    const spec = await specOf(created.body.id);
    expect(spec.files).toStrictEqual(files);
    expect(Buffer.from(spec.files![0]!.content, 'base64').equals(binary)).toBe(true);
    const audit = await database.db.selectFrom('audit_events').select('details').where('target_id', '=', created.body.id).executeTakeFirstOrThrow();
    expect((audit.details as unknown as { files: string[] }).files).toEqual(['/app/data.bin', '/usr/local/bin/run-me']);

    await transition(database.db, created.body.id, { from: ['PROVISIONING'], patch: { status: 'RUNNING', started_at: new Date() } });
    expect((await specOf(created.body.id)).files).toBeUndefined();
    expect(await database.db.selectFrom('task_files').select('task_id').where('task_id', '=', created.body.id).execute()).toEqual([]);
  });

  it('sends no files field for a task without files', async () => {
    const created = await call('POST', tasks, { command: 'true' });
    expect((await specOf(created.body.id)).files).toBeUndefined();
  });

  it('refuses files past TAPIT_TASK_FILES_MAX_BYTES with 413 naming the limit, and stores nothing', async () => {
    const before = await storedFiles();
    const tasksBefore = (await call('GET', '/v1/tasks?limit=500')).body.items.length;
    const r = await call('POST', tasks, {
      command: 'true',
      files: [
        { path: '/a', mode: 0o644, content: randomBytes(MAX / 2).toString('base64') },
        { path: '/b', mode: 0o644, content: randomBytes(MAX / 2 + 1).toString('base64') },
      ],
    });
    expect(r.status).toBe(413);
    expect(r.body.error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', field: 'files' });
    expect(r.body.error.message).toContain('TAPIT_TASK_FILES_MAX_BYTES');
    expect(r.body.error.message).toContain(String(MAX));
    expect(await storedFiles()).toBe(before);
    expect((await call('GET', '/v1/tasks?limit=500')).body.items.length).toBe(tasksBefore);
  });

  it('refuses a body past the route\'s own limit with 413 naming TAPIT_TASK_FILES_MAX_BYTES', async () => {
    const r = await call('POST', tasks, { command: 'true', files: [{ path: '/big', mode: 0o644, content: randomBytes(3 * 1024 * 1024).toString('base64') }] });
    expect(r.status).toBe(413);
    expect(r.body.error.message).toContain('TAPIT_TASK_FILES_MAX_BYTES');
  });

  it('takes a create-task body past the 1 MiB of other routes when the files allow it', async () => {
    const big = await createTestApp(database, { taskFilesMaxBytes: 2 * 1024 * 1024, bootstrap: false });
    const content = randomBytes(1.5 * 1024 * 1024).toString('base64');
    const r = await big.call('POST', tasks, { command: 'true', files: [{ path: '/big', mode: 0o644, content }] });
    expect(r.status).toBe(201);
    expect((await specOf(r.body.id)).files![0]!.content).toBe(content);
    // The rest of the body keeps its 1 MiB, and other routes theirs.
    const long = await big.call('POST', tasks, { command: 'x'.repeat(1.5 * 1024 * 1024), files: [{ path: '/small', mode: 0o644, content: 'eA==' }] });
    expect(long.status).toBe(413);
    expect(long.body.error.message).toContain("besides its files' content");
    const app = await big.call('POST', APP_PATH, { name: 'x'.repeat(10), image: 'i:1', junk: 'y'.repeat(1.5 * 1024 * 1024) });
    expect(app.status).toBe(413);
  });
});
