import { Project, WhoAmI } from '@tapit/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient, ApiError } from './api-client.js';
import { fakeServer } from '../testing/fake-server.js';
import { initiatedByOf } from './connection-settings.js';

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

  it('sends who is behind the token (TAPIT_INITIATED_BY) percent-encoded, and nothing when unset', async () => {
    const seen: (string | undefined)[] = [];
    const server = await fakeServer((req, res) => {
      seen.push(req.headers['x-initiated-by'] as string | undefined);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ name: 'ci', role: 'member', project: null }));
    });
    close = server.close;
    await new ApiClient(server.url, 't', { initiatedBy: initiatedByOf({ TAPIT_INITIATED_BY: ' Zoë Li 李 ' }) }).get('/v1/whoami', WhoAmI);
    await new ApiClient(server.url, 't', { initiatedBy: initiatedByOf({}) }).get('/v1/whoami', WhoAmI);
    expect(seen).toEqual(['Zo%C3%AB%20Li%20%E6%9D%8E', undefined]);
    expect(() => initiatedByOf({ TAPIT_INITIATED_BY: 'x\u001b[2J' })).toThrow('Invalid TAPIT_INITIATED_BY: must not contain control characters');
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

  it('sends a GET again on a new connection when the kept-alive one it reused was closed', async () => {
    const served = new WeakSet<object>();
    const server = await fakeServer((req, res) => {
      // As a scheduler whose keep-alive ran out while the client was busy: the reused connection is gone.
      if (served.has(req.socket)) return void req.socket.destroy();
      served.add(req.socket);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ name: 'admin', role: 'admin', project: null }));
    });
    close = server.close;
    const client = new ApiClient(server.url, 't');
    await client.get('/v1/whoami', WhoAmI);
    await new Promise((resolve) => setTimeout(resolve, 20)); // the connection goes back to the pool
    expect(await client.get('/v1/whoami', WhoAmI)).toEqual({ name: 'admin', role: 'admin', project: null });
    expect(server.requests).toHaveLength(3);
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

describe('ApiClient.create', () => {
  const project = { name: 'shop', stages: ['default'], createdAt: '2021-03-17T09:58:20.118Z' };
  const servers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((closeServer) => closeServer()));
  });

  /** A server that answers each create with the next of `plan` ('reset' drops the connection after reading the request). */
  async function scripted(plan: (number | 'reset')[]) {
    const keys: (string | undefined)[] = [];
    const server = await fakeServer((req, res) => {
      keys.push(req.headers['idempotency-key'] as string | undefined);
      req.resume();
      req.on('end', () => {
        const step = plan.shift() ?? 201;
        if (step === 'reset') return req.socket.destroy();
        res.statusCode = step;
        if (step === 503) res.setHeader('retry-after', '0');
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(step < 300 ? project : { error: { code: step === 503 ? 'INTERNAL' : 'CONFLICT', message: `answer ${step}` } }));
      });
    });
    servers.push(server.close);
    const notices: string[] = [];
    const client = new ApiClient(server.url, 't', { onRetry: (line) => notices.push(line), retryBaseMs: 1 });
    return { client, keys, notices };
  }

  it('sends a fresh Idempotency-Key with each create', async () => {
    const { client, keys } = await scripted([201, 201]);
    await client.create('/v1/projects', { name: 'shop' }, Project);
    await client.create('/v1/projects', { name: 'shop' }, Project);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[0]).not.toBe(keys[1]);
  });

  it('sends it again, with the same key, when the connection dropped or the scheduler was unavailable', async () => {
    const { client, keys, notices } = await scripted(['reset', 503, 'reset', 200]);
    expect(await client.create('/v1/projects', { name: 'shop' }, Project)).toEqual(project);
    expect(keys).toHaveLength(4);
    expect(new Set(keys).size).toBe(1);
    expect(notices).toEqual(['Create not confirmed (ECONNRESET); sending it again with the same Idempotency-Key, up to 4 more times']);
  });

  it('gives up after five attempts with the last failure', async () => {
    const { client, keys } = await scripted(['reset', 'reset', 'reset', 'reset', 'reset', 201]);
    const error = await rejection(client.create('/v1/projects', { name: 'shop' }, Project));
    expect(keys).toHaveLength(5);
    expect(error.code).toBe('UNREACHABLE');
    const unavailable = await scripted([503, 503, 503, 503, 503, 201]);
    expect((await rejection(unavailable.client.create('/v1/projects', { name: 'shop' }, Project))).status).toBe(503);
  });

  it('fails at once when it cannot connect at all (a wrong URL, a scheduler not started)', async () => {
    const server = await fakeServer(() => undefined);
    await server.close();
    const notices: string[] = [];
    const error = await rejection(new ApiClient(server.url, 't', { onRetry: (line) => notices.push(line), retryBaseMs: 1 }).create('/v1/projects', { name: 'shop' }, Project));
    expect(error.message).toBe(`could not reach ${server.url}: ECONNREFUSED`);
    expect(notices).toEqual([]);
  });

  it('does not send again an answer that is final: 4xx, 500', async () => {
    const conflict = await scripted([409, 201]);
    expect((await rejection(conflict.client.create('/v1/projects', { name: 'shop' }, Project))).code).toBe('CONFLICT');
    expect(conflict.keys).toHaveLength(1);
    const internal = await scripted([500, 201]);
    await rejection(internal.client.create('/v1/projects', { name: 'shop' }, Project));
    expect(internal.keys).toHaveLength(1);
  });
});
