import { Agent, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN } from '../testing/test-app.js';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';
import { startTestScheduler } from '../testing/test-scheduler.js';

/** One request on `agent` (a kept-alive connection): its status, or the error that ended it. */
function send(url: string, agent: Agent, method: string, path: string, body?: string, token = ADMIN_TOKEN): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const req = request({ host: hostname, port, method, path, agent, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(`${res.statusCode} connection: ${res.headers.connection}`));
    });
    req.on('error', (error) => resolve(`error: ${error.message}`));
    req.end(body);
  });
}

describe('a request body the API does not read to its end', () => {
  let database: TestDatabase;
  let scheduler: Awaited<ReturnType<typeof startTestScheduler>>;
  beforeAll(async () => {
    database = await createTestDatabase('postgres', { migrated: false });
    scheduler = await startTestScheduler(database);
  });
  afterAll(async () => {
    await scheduler.close();
    await database.drop();
  });

  // Found by test/fuzz/http-api.test.ts: the rest of the refused body stayed on the kept-alive
  // connection and the client's next request on it was dropped ("socket hang up").
  it('is answered 413 on a connection that is then closed, so the next request gets a connection of its own', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect(await send(scheduler.url, agent, 'POST', '/v1/projects', `{"name":"${'a'.repeat(2 * 1024 * 1024)}"}`)).toBe('413 connection: close');
      expect(await send(scheduler.url, agent, 'GET', '/v1/whoami')).toBe('200 connection: keep-alive');
    } finally {
      agent.destroy();
    }
  });

  // Found by test/fuzz/http-api.test.ts: a large body refused before it was read (401, 403, 404)
  // was answered keep-alive, and the client's next request on that connection was dropped.
  it('is refused on a connection that is then closed, so the next request gets a connection of its own', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const body = JSON.stringify({ name: 'web', image: 'web:1', args: Array.from({ length: 100_000 }, (_, i) => i) });
    try {
      expect(await send(scheduler.url, agent, 'POST', '/v1/projects/default/stages/default/apps', body, 'wrong-token')).toBe('401 connection: close');
      expect(await send(scheduler.url, agent, 'GET', '/v1/whoami')).toBe('200 connection: keep-alive');
      // A body read to its end keeps the connection.
      expect(await send(scheduler.url, agent, 'POST', '/v1/projects', JSON.stringify({ name: 'x'.repeat(100_000) }))).toBe('400 connection: keep-alive');
    } finally {
      agent.destroy();
    }
  });
});
