import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bodyLimitOf } from './body-limit.js';

/** POSTs `body` to the server, with a Content-Length or chunked; the status and the body read. */
function post(port: number, body: string, chunked: boolean): Promise<{ status: number; text: string; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request({ port, method: 'POST', path: '/', headers: chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, text, connection: res.headers.connection }));
    });
    req.on('error', reject);
    if (chunked) for (let i = 0; i < body.length; i += 7) req.write(body.slice(i, i + 7));
    else req.write(body);
    req.end();
  });
}

describe('bodyLimitOf, on the Node server', () => {
  let server: ServerType;
  let port: number;
  beforeAll(async () => {
    const app = new Hono().post('/', bodyLimitOf(20, ' (a test limit)'), async (c) => c.json({ got: await c.req.json() }));
    server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise((r) => server.once('listening', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  for (const chunked of [false, true]) {
    const how = chunked ? 'a chunked body' : 'a body with its Content-Length';
    it(`passes ${how} within the limit, read whole by the route`, async () => {
      const r = await post(port, '{"a":"0123456789"}', chunked);
      expect(r.status).toBe(200);
      expect(JSON.parse(r.text)).toEqual({ got: { a: '0123456789' } });
    });

    it(`refuses ${how} past the limit with 413 PAYLOAD_TOO_LARGE, closing the connection`, async () => {
      const r = await post(port, '{"a":"0123456789ABCDEF"}', chunked);
      expect(r.status).toBe(413);
      expect(JSON.parse(r.text)).toEqual({ error: { code: 'PAYLOAD_TOO_LARGE', message: 'body must be at most 20 bytes (a test limit)' } });
      expect(r.connection).toBe('close');
    });
  }
});
