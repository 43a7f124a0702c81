import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { TokenWatch } from '../auth/token-watch.js';
import { createToken, revokeToken } from '../auth/tokens.js';
import { StreamLimits } from '../http/stream-limits.js';
import { rawUpgrade } from '../testing/raw-upgrade.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../testing/test-database.js';
import { BrowserSockets, CLOSE_SIGNED_OUT } from './browser-socket.js';
import { openSession } from './sessions.js';

describe.each(DATABASE_KINDS)('dashboard browser sockets on %s', (kind) => {
  let database: TestDatabase;
  let server: Server;
  let sockets: BrowserSockets;
  let tokenWatch: TokenWatch;
  let url: string;
  let origin: string;
  const streamLimits = new StreamLimits({ perToken: 2, total: 100 });

  /** A member token and a session of it: its cookie header. */
  async function session(name: string, ttlMs?: number) {
    const { token } = await createToken(database.db, { name, role: 'member' }, 'test');
    const opened = (await openSession(database.db, token, ttlMs))!;
    return `tapit_session=${opened.sessionId}`;
  }

  /** Opens a socket as a browser of `origin` would; resolves with it and its first message. */
  function connect(cookie: string, from = origin): Promise<{ ws: WebSocket; first: string }> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${url}/live/echo?x=1`, { headers: { cookie, origin: from } });
      ws.once('message', (data) => resolve({ ws, first: String(data) }));
      ws.once('error', reject);
    });
  }

  const closed = (ws: WebSocket) => new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })));

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    tokenWatch = new TokenWatch(database.db);
    sockets = new BrowserSockets({ db: database.db, tokenWatch, log: () => {}, streamLimits }).route(/^\/live\/echo$/, (ws, context) => {
      ws.send(JSON.stringify({ principal: context.principal, query: context.url.search }));
    });
    server = createServer((_, res) => res.end());
    server.on('upgrade', (request, socket, head) => {
      const path = new URL(request.url ?? '/', 'http://x').pathname;
      if (!sockets.handleUpgrade(request, socket, head, path)) socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    url = `ws://127.0.0.1:${port}`;
    origin = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    sockets?.close();
    await new Promise((resolve) => server?.close(resolve));
    await database?.drop();
  });

  it('gives the session token as it is to the handler of a same-origin socket', async () => {
    const { ws, first } = await connect(await session('alice'));
    expect(JSON.parse(first)).toEqual({ principal: { name: 'alice', role: 'member', project: null }, query: '?x=1' });
    ws.close();
  });

  it('refuses, before upgrading, a socket from another origin or with no Origin at all', async () => {
    const cookie = await session('bob');
    const http = url.replace('ws:', 'http:');
    const crossSite = await rawUpgrade(http, '/live/echo', { cookie, origin: 'https://evil.example' });
    expect(crossSite.status).toBe(403);
    expect(JSON.parse(crossSite.body).error.message).toContain('not https://evil.example');
    // Same host, another scheme: another origin.
    expect((await rawUpgrade(http, '/live/echo', { cookie, origin: origin.replace('http:', 'https:') })).status).toBe(403);
    // Another port of the same host: another origin.
    expect((await rawUpgrade(http, '/live/echo', { cookie, origin: 'http://127.0.0.1:1' })).status).toBe(403);
    expect((await rawUpgrade(http, '/live/echo', { cookie })).status).toBe(403);
    // Behind a TLS proxy the page's origin is https.
    expect((await rawUpgrade(http, '/live/echo', { cookie, origin: origin.replace('http:', 'https:'), 'x-forwarded-proto': 'https' })).status).toBe(101);
  });

  it('refuses a socket without a session, with an unknown or expired one, or of a revoked token', async () => {
    const http = url.replace('ws:', 'http:');
    const none = await rawUpgrade(http, '/live/echo', { origin });
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body).error.code).toBe('UNAUTHORIZED');
    expect((await rawUpgrade(http, '/live/echo', { origin, cookie: 'tapit_session=not-a-session' })).status).toBe(401);
    const expiring = await session('carol', 50);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect((await rawUpgrade(http, '/live/echo', { origin, cookie: expiring })).status).toBe(401);
    const revoked = await session('dave');
    await revokeToken(database.db, 'dave');
    expect((await rawUpgrade(http, '/live/echo', { origin, cookie: revoked })).status).toBe(401);
  });

  it('closes an open socket when its token is revoked (on another replica: at the next check)', async () => {
    const { ws } = await connect(await session('erin'));
    const end = closed(ws);
    await revokeToken(database.db, 'erin');
    await tokenWatch.check();
    expect(await end).toEqual({ code: CLOSE_SIGNED_OUT, reason: 'the token "erin" was revoked' });
  });

  it('closes an open socket when its session expires', async () => {
    const { ws } = await connect(await session('frank', 1500));
    expect(await closed(ws)).toEqual({ code: CLOSE_SIGNED_OUT, reason: 'the dashboard session expired' });
  });

  it('closes the open sockets of a session signed out, and only those', async () => {
    const mine = await connect(await session('hal'));
    const other = await connect(await session('ivy'));
    const cookie = (await session('jay')).slice('tapit_session='.length);
    const third = await connect(`tapit_session=${cookie}`);
    const fourth = await connect(`tapit_session=${cookie}`);
    const fourthEnd = closed(fourth.ws);
    const end = closed(third.ws);
    sockets.sessionEnded(cookie);
    expect(await end).toEqual({ code: CLOSE_SIGNED_OUT, reason: 'signed out' });
    expect(await fourthEnd).toEqual({ code: CLOSE_SIGNED_OUT, reason: 'signed out' });
    expect(mine.ws.readyState).toBe(WebSocket.OPEN);
    expect(other.ws.readyState).toBe(WebSocket.OPEN);
    mine.ws.close();
    other.ws.close();
  });

  it("counts its sockets as the token's streams", async () => {
    const cookie = await session('gina');
    const a = await connect(cookie);
    const b = await connect(cookie);
    const third = await rawUpgrade(url.replace('ws:', 'http:'), '/live/echo', { origin, cookie });
    expect(third.status).toBe(429);
    expect(JSON.parse(third.body).error.code).toBe('TOO_MANY_STREAMS');
    const aClosed = closed(a.ws);
    a.ws.close();
    await aClosed;
    // The slot comes back with the close (the server sees it a moment after the client).
    for (let i = 0; i < 50 && streamLimits.openStreams > 1; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    const again = await connect(cookie);
    again.ws.close();
    b.ws.close();
  });
});
