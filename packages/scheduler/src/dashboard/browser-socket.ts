import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { parse as parseCookies } from 'hono/utils/cookie';
import type { Kysely } from 'kysely';
import { WebSocketServer, type WebSocket } from 'ws';
import type { TokenWatch } from '../auth/token-watch.js';
import type { Principal } from '../auth/tokens.js';
import { coerceError } from '../db/errors.js';
import type { Database } from '../db/schema.js';
import { ApiError, toApiError } from '../http/api-error.js';
import { refuseUpgrade } from '../http/refuse-upgrade.js';
import type { StreamLimits } from '../http/stream-limits.js';
import type { Log } from '../log.js';
import { reachedOverTls } from './reached-over-tls.js';
import { SESSION_COOKIE } from './session-cookie.js';
import { findSession } from './sessions.js';

/*
 * Close codes are 4000 + the HTTP status an API request would get, as the console broker's
 * (consoles/broker.ts), so a page reads every refusal the same way.
 */
/** The session ended (token revoked, session expired, signed out): the page must sign in again, not reconnect. */
export const CLOSE_SIGNED_OUT = 4401;
/** Refused for what it asked after the upgrade (a bad frame, a malformed reference). */
export const CLOSE_BAD_REQUEST = 4400;
/** A ping this often keeps proxies from dropping a quiet socket, and finds a dead browser. */
const PING_MS = 25_000;

/** What a handler gets with its socket. */
export interface BrowserSocketContext {
  /** The token behind the session, as it is now. */
  principal: Principal;
  sessionId: string;
  request: IncomingMessage;
  url: URL;
  /** The route's pattern matched against the path. */
  match: RegExpExecArray;
  /** Aborted when the socket closes, its token is revoked or its session expires: stop sending. */
  signal: AbortSignal;
}

export type BrowserSocketHandler = (socket: WebSocket, context: BrowserSocketContext) => void | Promise<void>;

export interface BrowserSocketDeps {
  db: Kysely<Database>;
  tokenWatch: TokenWatch;
  log: Log;
  /** Counted as the token's streams, with its log follows and consoles (one cap per token). */
  streamLimits?: StreamLimits;
  /** Largest frame a browser may send. */
  maxPayload?: number;
}

/**
 * Websockets of the dashboard's pages (live lists, logs, the console). A browser cannot set an
 * Authorization header on a websocket, so the upgrade is authorized by the dashboard session's
 * cookie, looked up with its token as every page is. Because a cookie goes with any site's
 * request, the upgrade must come from a page of this origin (`Origin` equal to the request's
 * own scheme and host): another site's script cannot open a socket with the user's session
 * (websockets are not bound by CORS). Both are checked before the upgrade; a refusal is an HTTP
 * answer with the API's error body. A revoked token, an expired session or a sign-out on this
 * replica closes the socket with CLOSE_SIGNED_OUT, as a revoked token ends an API stream.
 */
export class BrowserSockets {
  private readonly routes: { pattern: RegExp; handler: BrowserSocketHandler }[] = [];
  private readonly server: WebSocketServer;
  private readonly open = new Set<WebSocket>();
  /** Open sockets by session, so a sign-out ends them. */
  private readonly bySession = new Map<string, Set<() => void>>();

  constructor(private readonly deps: BrowserSocketDeps) {
    this.server = new WebSocketServer({ noServer: true, maxPayload: deps.maxPayload ?? 64 * 1024 });
  }

  /** A socket at paths matching `pattern` (anchored, e.g. /^\/live\/tasks$/), served by `handler`. */
  route(pattern: RegExp, handler: BrowserSocketHandler): this {
    this.routes.push({ pattern, handler });
    return this;
  }

  /** Whether `path` is one of these sockets' (then the upgrade is answered here, refused or accepted). */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer, path: string): boolean {
    for (const { pattern, handler } of this.routes) {
      const match = pattern.exec(path);
      if (match) {
        void this.accept(request, socket, head, match, handler);
        return true;
      }
    }
    return false;
  }

  /** The session was signed out here: its open sockets close (CLOSE_SIGNED_OUT). */
  sessionEnded(sessionId: string): void {
    const enders = this.bySession.get(sessionId);
    this.bySession.delete(sessionId);
    for (const end of enders ?? []) end();
  }

  /** Closes every open socket (the scheduler stops). */
  close(): void {
    for (const socket of this.open) socket.terminate();
    this.server.close();
  }

  private async accept(request: IncomingMessage, socket: Duplex, head: Buffer, match: RegExpExecArray, handler: BrowserSocketHandler): Promise<void> {
    // Origin first: it costs no database read, and a cross-site attempt learns nothing more.
    const origin = request.headers.origin;
    const expected = ownOrigin(request);
    if (origin === undefined) return refuseUpgrade(socket, 403, 'FORBIDDEN', 'a dashboard socket must be opened by a dashboard page (no Origin header)');
    if (origin !== expected) return refuseUpgrade(socket, 403, 'FORBIDDEN', `a dashboard socket must be opened by a page of ${expected}, not ${origin.length > 100 ? `${origin.slice(0, 100)}…` : origin}`);
    const sessionId = parseCookies(request.headers.cookie ?? '', SESSION_COOKIE)[SESSION_COOKIE];
    if (!sessionId) return refuseUpgrade(socket, 401, 'UNAUTHORIZED', 'no dashboard session: sign in at /sign-in');
    let release: (() => void) | undefined;
    let session: Awaited<ReturnType<typeof findSession>>;
    try {
      session = await findSession(this.deps.db, sessionId);
      if (!session) return refuseUpgrade(socket, 401, 'UNAUTHORIZED', 'the dashboard session ended (signed out, expired, or its token revoked): sign in at /sign-in');
      release = this.deps.streamLimits?.acquire(session.principal.name);
    } catch (error) {
      const known = toApiError(error) ?? new ApiError('INTERNAL', 'internal error');
      if (known.code === 'INTERNAL') this.deps.log(`dashboard socket upgrade: ${coerceError(error).message}`, 'error');
      const retry: Record<string, string> = known.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(known.retryAfterSeconds) };
      return refuseUpgrade(socket, known.status, known.code, known.message, known.field, retry);
    }
    const { principal, expiresAt } = session;
    // Gone while its session was read: its 'close' has fired already, and the upgrade below would
    // never call back, so the stream slot is given back here.
    if (socket.destroyed) return release?.();
    socket.once('close', () => release?.());
    this.server.handleUpgrade(request, socket, head, (ws) => {
      this.open.add(ws);
      const ended = new AbortController();
      const signOut = (reason: string) => {
        ended.abort(reason);
        ws.close(CLOSE_SIGNED_OUT, reason);
      };
      const unwatch = this.deps.tokenWatch.watch(principal.name, () => signOut(`the token "${principal.name}" was revoked`));
      const onSignOut = () => signOut('signed out');
      const sessionSockets = this.bySession.get(sessionId) ?? new Set();
      sessionSockets.add(onSignOut);
      this.bySession.set(sessionId, sessionSockets);
      const expiry = setTimeout(() => signOut('the dashboard session expired'), Math.min(Math.max(0, expiresAt.getTime() - Date.now()), 2 ** 31 - 1));
      let alive = true;
      ws.on('pong', () => (alive = true));
      const ping = setInterval(() => {
        if (!alive) return ws.terminate();
        alive = false;
        ws.ping();
      }, PING_MS);
      ws.once('close', () => {
        this.open.delete(ws);
        ended.abort('closed');
        unwatch();
        sessionSockets.delete(onSignOut);
        if (sessionSockets.size === 0 && this.bySession.get(sessionId) === sessionSockets) this.bySession.delete(sessionId);
        clearTimeout(expiry);
        clearInterval(ping);
        release?.();
      });
      ws.on('error', () => ws.terminate());
      const url = new URL(request.url ?? '/', 'http://x');
      Promise.resolve()
        .then(() => handler(ws, { principal, sessionId, request, url, match, signal: ended.signal }))
        .catch((error) => {
          const known = toApiError(error);
          if (!known) this.deps.log(`dashboard socket ${url.pathname}: ${coerceError(error).stack ?? String(error)}`, 'error');
          // A reason is at most 123 bytes.
          ws.close(known ? CLOSE_BAD_REQUEST : 1011, (known ? known.message : 'internal error').slice(0, 120));
        });
    });
  }
}

/**
 * The origin a page of this scheduler has, as the browser that asked sees it: the Host header,
 * over https when the browser reached us over TLS (reached-over-tls.ts). A proxy in front must pass
 * Host on unchanged.
 */
export function ownOrigin(request: IncomingMessage): string {
  const tls = reachedOverTls((request.socket as { encrypted?: boolean }).encrypted === true, request.headers['x-forwarded-proto']);
  return `${tls ? 'https' : 'http'}://${request.headers.host ?? ''}`;
}
