import { connect } from 'node:net';
import { ApiErrorBody } from '@tapit/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';
import { startTestScheduler } from '../testing/test-scheduler.js';

/** Writes `bytes` on a connection of its own and reads until the server closes it. */
function rawExchange(url: string, bytes: string): Promise<{ status: number; body: unknown; head: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', body = ''] = received.split('\r\n\r\n');
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = body;
      }
      resolve({ status: Number(head.split(' ')[1]), body: json, head });
    });
    socket.write(Buffer.from(bytes, 'latin1'));
  });
}

// Found by test/fuzz/http-api.test.ts: requests refused before any route (by Node's parser, by
// the Hono adapter) were answered with a bare status line and no body, and a CONNECT was dropped
// without an answer.
describe('requests refused before any route', () => {
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

  it.each([
    ['a request line Node cannot parse', 'GET /v1/tasks/a b HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'VALIDATION_FAILED'],
    ['a malformed chunked body', 'POST /v1/projects HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nxx\r\n0\r\n\r\n', 400, 'VALIDATION_FAILED'],
    ['a request target that is not a path', 'GET * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 400, 'VALIDATION_FAILED'],
    ['a backslash in the path', 'GET /v1\\whoami HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 400, 'VALIDATION_FAILED'],
    ['a proxy tunnel request', 'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n', 404, 'NOT_FOUND'],
  ])('answers %s with the API error body and closes the connection', async (_what, bytes, status, code) => {
    const answer = await rawExchange(scheduler.url, bytes);
    expect(answer.status).toBe(status);
    expect(ApiErrorBody.parse(answer.body).error.code).toBe(code);
    expect(answer.head.toLowerCase()).toContain('connection: close');
  });
});
