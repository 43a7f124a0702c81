import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from './db/client.js';
import { createTestApp } from './testing/test-app.js';
import { createTestDatabase, unreachableDatabase, type TestDatabase } from './testing/test-database.js';

describe('the API while its database answers', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase('postgres');
  });
  afterAll(() => database.drop());

  it('is ready and live', async () => {
    const { call } = await createTestApp(database);
    expect(await call('GET', '/healthz', undefined, null)).toMatchObject({ status: 200, body: { status: 'ok', database: 'postgres' } });
    expect(await call('GET', '/livez', undefined, null)).toMatchObject({ status: 200, body: { status: 'ok', version: 'test' } });
  });
});

describe('the API while its database cannot be reached', () => {
  let database: DatabaseHandle;
  const lines: string[] = [];
  let call: Awaited<ReturnType<typeof createTestApp>>['call'];

  beforeAll(async () => {
    database = await unreachableDatabase();
    ({ call } = await createTestApp(database, { log: (line) => lines.push(line), bootstrap: false }));
  });
  afterAll(() => database.close());

  it('answers every call 503 DATABASE_UNAVAILABLE with Retry-After, logged as one line', async () => {
    for (const [method, path] of [
      ['GET', '/v1/whoami'],
      ['GET', '/v1/tasks'],
      ['POST', '/v1/projects/default/stages/default/apps/web/tasks'],
    ] as const) {
      lines.length = 0;
      const answer = await call(method, path, method === 'POST' ? { command: 'true' } : undefined);
      expect(answer.status).toBe(503);
      expect(answer.retryAfter).toBe('2');
      expect(answer.body.error.code).toBe('DATABASE_UNAVAILABLE');
      expect(answer.body.error.message).toMatch(/^the scheduler's database is unavailable \(connect ECONNREFUSED .+\); retry in 2 s$/);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`${method} ${path}: 503 the scheduler's database is unavailable`);
      expect(lines[0]).not.toContain('\n');
    }
  });

  it('is not ready, with the reason, but live', async () => {
    const health = await call('GET', '/healthz', undefined, null);
    expect(health.status).toBe(503);
    expect(health.retryAfter).toBe('2');
    expect(health.body.error).toMatchObject({ code: 'DATABASE_UNAVAILABLE', message: expect.stringContaining('ECONNREFUSED') });
    expect(await call('GET', '/livez', undefined, null)).toMatchObject({ status: 200, body: { status: 'ok' } });
  });
});
