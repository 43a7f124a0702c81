/** @jsxImportSource hono/jsx */
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import type { AuthFailures } from '../auth/auth-failures.js';
import { coerceError } from '../db/errors.js';
import { toApiError } from '../http/api-error.js';
import { bodyLimitOf, MAX_BODY_BYTES } from '../http/body-limit.js';
import { clientAddress, type AppDeps } from '../http/context.js';
import { createTaskBodyLimit, MAX_TASK_FILES_BYTES } from '../tasks/task-files.js';
import type { Log } from '../log.js';
import { scriptFile, scriptFileGzip } from './assets.js';
import { csrfMatches, csrfTokenOf, newSignInCsrf } from './csrf.js';
import { ErrorPage, type Viewer } from './layout.js';
import type { DashboardEnv, PageContext } from './page-context.js';
import { consoleRoutes } from './console-routes.js';
import { DASHBOARD_CSP } from './csp.js';
import { runRoutes } from './run-routes.js';
import { taskRoutes } from './task-routes.js';
import { scheduleRoutes } from './schedule-routes.js';
import { agentRoutes } from './agents-routes.js';
import { auditRoutes } from './audit-routes.js';
import { tokenRoutes } from './tokens-routes.js';
import { clearSessionCookie, readSessionCookie, readSignInCsrfCookie, setSessionCookie, setSignInCsrfCookie } from './session-cookie.js';
import { endSession, findSession, openSession } from './sessions.js';
import { SignInPage } from './sign-in-page.js';
import { DASHBOARD_CSS, DASHBOARD_CSS_PATH } from './styles.js';

/*
 * The dashboard: sign-in, sessions, headers and assets here; the pages in their modules, each
 * from the same repositories and permission checks as the API, so a page shows nothing its token
 * could not read through /v1. A session is looked up with its token on every request.
 */
export function dashboardRoutes(deps: AppDeps, failures: AuthFailures, log: Log) {
  const { db } = deps;
  const routes = new Hono<DashboardEnv>();

  // Only on the dashboard's own paths: mounted at /, a bare `use` would run for every path.
  const pagePaths = ['/', '/sign-in', '/sign-out', '/tasks', '/tasks/*', '/run', '/console', '/consoles/*', '/schedules', '/schedules/*', '/agents', '/audit', '/tokens', '/tokens/*'];
  const pageHeaders: MiddlewareHandler<DashboardEnv> = async (c, next) => {
    await next();
    // Pages hold what a token may see: never cached, never framed, nothing loaded from elsewhere.
    if (c.res.headers.get('content-type')?.startsWith('text/html')) {
      c.header('Cache-Control', 'no-store');
      // A console page sets its own (xterm.js sets inline styles).
      if (!c.res.headers.has('Content-Security-Policy')) c.header('Content-Security-Policy', DASHBOARD_CSP);
      c.header('X-Content-Type-Options', 'nosniff');
      c.header('Referrer-Policy', 'same-origin');
    }
  };
  // A form is a few hundred bytes; nothing larger is read.
  const limitBody = bodyLimitOf(16 * 1024);
  // But the run form, whose command, env and files may be as large as the API's create takes.
  const limitRunBody = bodyLimitOf(createTaskBodyLimit(MAX_BODY_BYTES, deps.taskFilesMaxBytes ?? MAX_TASK_FILES_BYTES));
  for (const path of pagePaths) routes.use(path, pageHeaders, path === '/run' ? limitRunBody : limitBody);

  routes.get(DASHBOARD_CSS_PATH, (c) => {
    c.header('Cache-Control', 'public, max-age=31536000, immutable');
    return c.body(DASHBOARD_CSS, 200, { 'Content-Type': 'text/css; charset=utf-8' });
  });

  // The client scripts (assets.ts): named by their hash, so cached for good.
  routes.get('/assets/:file', (c) => {
    const file = c.req.param('file');
    const type = file.endsWith('.js') ? 'text/javascript' : file.endsWith('.css') ? 'text/css' : undefined;
    const contents = type ? scriptFile(file) : undefined;
    if (!contents) return c.json({ error: { code: 'NOT_FOUND', message: `no asset ${file.length > 100 ? `${file.slice(0, 100)}…` : file}` } }, 404);
    c.header('Cache-Control', 'public, max-age=31536000, immutable');
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Vary', 'Accept-Encoding');
    // Gzipped for a browser that takes it: the console's xterm.js is ~350 KB, ~90 KB gzipped.
    if (/\bgzip\b/.test(c.req.header('accept-encoding') ?? '')) {
      c.header('Content-Encoding', 'gzip');
      return c.body(new Uint8Array(scriptFileGzip(file)!), 200, { 'Content-Type': `${type}; charset=utf-8` });
    }
    return c.body(new Uint8Array(contents), 200, { 'Content-Type': `${type}; charset=utf-8` });
  });

  routes.get('/sign-in', async (c) => {
    const session = readSessionCookie(c);
    if (session && (await findSession(db, session))) return c.redirect('/tasks', 303);
    return signInForm(c);
  });

  routes.post('/sign-in', async (c) => {
    const form = await c.req.parseBody();
    const expected = readSignInCsrfCookie(c);
    if (!expected || !csrfMatches(expected, form.csrf)) return refused(c);
    const address = clientAddress(c);
    const wait = failures.retryAfter(address);
    if (wait > 0) {
      c.header('Retry-After', String(wait));
      return signInForm(c, `Too many failed sign-ins from your address: try again in ${wait} s.`, 429);
    }
    const secret = typeof form.token === 'string' ? form.token.trim() : '';
    if (!secret) {
      failures.failed(address, 'missing token', 'the dashboard sign-in');
      return signInForm(c, 'Give an API token.', 401);
    }
    const opened = await openSession(db, secret);
    if (!opened) {
      failures.failed(address, 'invalid token', 'the dashboard sign-in');
      return signInForm(c, 'That token is unknown or revoked.', 401);
    }
    setSessionCookie(c, opened.sessionId, opened.expiresAt);
    return c.redirect('/tasks', 303);
  });

  // Everything below needs a live session.
  const signedIn: MiddlewareHandler<DashboardEnv> = async (c, next) => {
    const sessionId = readSessionCookie(c);
    const session = sessionId ? await findSession(db, sessionId) : undefined;
    if (!sessionId || !session) {
      if (sessionId) clearSessionCookie(c);
      // A form posted without a session is refused outright (it may be another site's);
      // a page asked for is sent to sign in.
      if (c.req.method !== 'GET' && c.req.method !== 'HEAD') return refused(c);
      return c.redirect('/sign-in', 303);
    }
    c.set('sessionId', sessionId);
    c.set('viewer', { principal: session.principal, csrf: csrfTokenOf(sessionId) });
    if (c.req.method === 'POST') {
      const form = await c.req.parseBody();
      if (!csrfMatches(c.get('viewer').csrf, form.csrf)) return refused(c, c.get('viewer'));
    }
    await next();
  };

  routes.post('/sign-out', signedIn, async (c) => {
    await endSession(db, c.get('sessionId'));
    deps.dashboardSessionEnded?.(c.get('sessionId'));
    clearSessionCookie(c);
    return c.redirect('/sign-in', 303);
  });

  routes.get('/', signedIn, (c) => c.redirect('/tasks', 303));



  // The pages, each group in its own module.
  const pages: PageContext = { routes, deps, signedIn };
  taskRoutes(pages);
  consoleRoutes(pages);
  runRoutes(pages);
  scheduleRoutes(pages);
  agentRoutes(pages);
  auditRoutes(pages);
  tokenRoutes(pages);


  // Errors as pages, in the API's words and statuses (another project's task: 404 as at /v1).
  routes.onError((caught, c) => {
    const viewer = c.get('viewer') as Viewer | undefined;
    const answer = toApiError(caught);
    if (answer) {
      if (answer.retryAfterSeconds !== undefined) c.header('Retry-After', String(answer.retryAfterSeconds));
      const title = answer.status === 404 ? 'Not found' : answer.status === 403 ? 'Forbidden' : 'Cannot show this';
      return c.html(<ErrorPage viewer={viewer} title={title} message={answer.message} />, answer.status as 400);
    }
    log(`internal error on ${c.req.method} ${c.req.path}: ${coerceError(caught).stack ?? String(caught)}`, 'error');
    return c.html(<ErrorPage viewer={viewer} title="Internal error" message="internal error; the scheduler log has the details" />, 500);
  });

  return routes;
}

/** The sign-in form with a fresh double-submit CSRF value. */
function signInForm(c: Context, error?: string, status: 200 | 401 | 429 = 200) {
  const csrf = newSignInCsrf();
  setSignInCsrfCookie(c, csrf);
  return c.html(<SignInPage csrf={csrf} error={error} />, status);
}

/** A POST without its form's CSRF token, or without a session: 403, whatever it asked for. */
function refused(c: Context, viewer?: Viewer) {
  return c.html(<ErrorPage viewer={viewer} title="Forbidden" message="This form was not sent by this dashboard's page (missing or wrong CSRF token, or no session): reload the page and try again." />, 403);
}
