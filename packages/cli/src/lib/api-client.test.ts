import { WhoAmI } from '@tapit/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient, ApiError } from './api-client.js';
import { fakeServer } from '../testing/fake-server.js';

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

async function rejection(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(error)}`);
  return error;
}

describe('ApiClient', () => {
  it('sends the bearer token and parses the answer with its schema', async () => {
    let auth: string | undefined;
    const server = await fakeServer((req, res) => {
      auth = req.headers.authorization;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ name: 'admin', role: 'admin', project: null }));
    });
    close = server.close;
    const who = await new ApiClient(`${server.url}/`, 'secret-token').get('/v1/whoami', WhoAmI);
    expect(who).toEqual({ name: 'admin', role: 'admin', project: null });
    expect(auth).toBe('Bearer secret-token');
  });

  it('turns an API error body into an ApiError with exit 2 for 4xx and 1 for 5xx', async () => {
    const server = await fakeServer((_req, res, url) => {
      res.statusCode = url.pathname === '/v1/missing' ? 404 : 500;
      res.end(JSON.stringify({ error: { code: res.statusCode === 404 ? 'NOT_FOUND' : 'INTERNAL', message: 'app web not found', field: 'app' } }));
    });
    close = server.close;
    const client = new ApiClient(server.url, 't');
    const notFound = await rejection(client.get('/v1/missing', WhoAmI));
    expect([notFound.message, notFound.code, notFound.field, notFound.exitCode]).toEqual(['app web not found', 'NOT_FOUND', 'app', 2]);
    expect((await rejection(client.get('/v1/broken', WhoAmI))).exitCode).toBe(1);
  });

  it('rejects an answer that does not match the schema', async () => {
    const server = await fakeServer((_req, res) => res.end(JSON.stringify({ name: 'x' })));
    close = server.close;
    const error = await rejection(new ApiClient(server.url, 't').get('/v1/whoami', WhoAmI));
    expect(error.code).toBe('BAD_RESPONSE');
    expect(error.message).toMatch(/^unexpected answer from GET \/v1\/whoami: role/);
  });

  it('names the URL it could not reach', async () => {
    const server = await fakeServer(() => undefined);
    const url = server.url;
    await server.close();
    const error = await rejection(new ApiClient(url, 't').get('/v1/whoami', WhoAmI));
    expect(error.code).toBe('UNREACHABLE');
    expect(error.status).toBeNull();
    expect(error.message).toBe(`could not reach ${url}: ECONNREFUSED`);
    expect(error.exitCode).toBe(1);
  });
});
