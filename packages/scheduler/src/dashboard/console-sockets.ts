import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Kysely } from 'kysely';
import { parse } from 'hono/utils/cookie';
import type { ConsoleBroker } from '../consoles/broker.js';
import type { Database } from '../db/schema.js';
import { coerceError } from '../db/errors.js';
import { refuseUpgrade } from '../http/refuse-upgrade.js';
import { SESSION_COOKIE } from './session-cookie.js';
import { findSession } from './sessions.js';

/** The dashboard's console sockets: `/tasks/ID/console/socket` (attach) and `/tasks/ID/exec/socket`. */
export const DASHBOARD_CONSOLE_SOCKET = /^\/tasks\/([^/]+)\/(console|exec)\/socket$/;

export const dashboardConsoleSocketPath = (taskId: string, mode: 'attach' | 'exec') => `/tasks/${taskId}/${mode === 'exec' ? 'exec' : 'console'}/socket`;

/**
 * A browser opening a console from the dashboard. It cannot set an Authorization header, so it
 * is the session cookie that says who it is, and the Origin that says the page asking is this
 * dashboard's own (a cookie goes along with another site's websocket too: SameSite=Lax does not
 * hold back a websocket to a site the browser deems the same). With both, the session's token
 * goes to the console broker, which checks and relays exactly as for the CLI.
 */
export async function handleDashboardConsoleUpgrade(
  deps: { db: Kysely<Database>; consoles: ConsoleBroker; log: (line: string) => void },
  request: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  taskRef: string,
  mode: 'attach' | 'exec',
): Promise<void> {
  if (!sameOrigin(request)) return refuseUpgrade(socket, 403, 'FORBIDDEN', 'a dashboard socket is opened only by the dashboard\'s own pages (the Origin differs from the host)');
  const sessionId = parse(request.headers.cookie ?? '', SESSION_COOKIE)[SESSION_COOKIE];
  let session: Awaited<ReturnType<typeof findSession>>;
  try {
    session = sessionId ? await findSession(deps.db, sessionId) : undefined;
  } catch (error) {
    deps.log(`dashboard console upgrade: ${coerceError(error).message}`);
    return refuseUpgrade(socket, 503, 'DATABASE_UNAVAILABLE', "the scheduler's database is unavailable");
  }
  // A session id is 256 random bits: a missing or stale one is a signed-out browser, not a guess.
  if (!session) return refuseUpgrade(socket, 401, 'UNAUTHORIZED', 'no dashboard session: sign in again');
  return deps.consoles.handleSessionUpgrade(request, socket, head, session.principal, taskRef, mode);
}

/**
 * Whether the upgrade comes from a page of this host: its Origin's host and port are the Host
 * the browser connected to (the scheme may differ behind a TLS proxy). No Origin, no socket:
 * every browser sends one with a websocket.
 */
export function sameOrigin(request: IncomingMessage): boolean {
  const origin = request.headers.origin;
  const host = request.headers.host;
  if (!origin || !host) return false;
  try {
    return new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}
