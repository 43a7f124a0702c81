/** @jsxImportSource hono/jsx */
import { randomUUID } from 'node:crypto';
import { CreateTaskRequest, Name, linesOfChunk, type LogLine } from '@tapit/protocol';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { AuthFailures } from '../auth/auth-failures.js';
import { requireProject, requireRole } from '../auth/permissions.js';
import { listConsoleSessions, openRecording } from '../consoles/repository.js';
import { coerceError } from '../db/errors.js';
import { toApiError } from '../http/api-error.js';
import { bodyLimitOf, MAX_BODY_BYTES } from '../http/body-limit.js';
import { clientAddress, type AppDeps } from '../http/context.js';
import { parseChunk, readLogChunks, readLogState } from '../logs/repository.js';
import { taskCreationOf } from '../tasks/create-batch.js';
import { findTask, listTaskEvents, listTasks } from '../tasks/repository.js';
import { deleteTaskAs, stopTaskAs } from '../tasks/task-actions.js';
import { CHUNK_PAGE_BYTES } from '../logs/routes.js';
import { stream } from 'hono/streaming';
import { toTask } from '../tasks/task-view.js';
import { createTaskBodyLimit, MAX_TASK_FILES_BYTES } from '../tasks/task-files.js';
import type { Log } from '../log.js';
import { scriptFile, scriptFileGzip } from './assets.js';
import { ConsolePage, RecordingPage } from './console-page.js';
import { execArgv } from './exec-command.js';
import { ConsoleFormPage, type ConsoleForm } from './console-form-page.js';
import { formIdempotency } from './form-idempotency.js';
import { csrfMatches, csrfTokenOf, newSignInCsrf } from './csrf.js';
import { ErrorPage, type Viewer } from './layout.js';
import { formText, type DashboardEnv, type PageContext } from './page-context.js';
import { runRoutes } from './run-routes.js';
import { scheduleRoutes } from './schedule-routes.js';
import { agentRoutes } from './agents-routes.js';
import { auditRoutes } from './audit-routes.js';
import { tokenRoutes } from './tokens-routes.js';
import { clearSessionCookie, readSessionCookie, readSignInCsrfCookie, setSessionCookie, setSignInCsrfCookie } from './session-cookie.js';
import { endSession, findSession, openSession } from './sessions.js';
import { SignInPage } from './sign-in-page.js';
import { DASHBOARD_CSS, DASHBOARD_CSS_PATH } from './styles.js';
import { ConfirmPage, TaskPage, type LogTail } from './task-page.js';
import { readListing } from './task-listing.js';
import { TasksPage } from './tasks-page.js';

/** Lines of a task's log its page shows (the rest: `tapit show logs`). */
export const LOG_TAIL_LINES = 200;

/**
 * Only the scheduler's own stylesheet and scripts (no inline script, no eval), websockets and
 * fetches to this origin only, forms posted here only, never framed.
 */
export const DASHBOARD_CSP = "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/*
 * The dashboard: pages rendered here, from the same repositories and permission checks as the
 * API (`listTasks` with the token's project, `findTask` limited to it), so a page shows nothing
 * its token could not read through /v1. A session is looked up with its token on every request.
 */
export function dashboardRoutes(deps: AppDeps, failures: AuthFailures, log: Log) {
  const { db } = deps;
  const routes = new Hono<DashboardEnv>();
  const creation = taskCreationOf(db, deps.secrets);

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

  routes.get('/tasks', signedIn, async (c) => {
    const viewer = c.get('viewer');
    const listing = readListing(c.req.query(), viewer.principal);
    if (!listing.ok) return c.html(<TasksPage viewer={viewer} filters={listing.filters} tasks={[]} nextCursor={null} paged={false} error={listing.error} />, 400);
    const { rows, nextCursor } = await listTasks(db, listing.filter);
    return c.html(<TasksPage viewer={viewer} filters={listing.filters} tasks={rows} nextCursor={nextCursor} paged={listing.filter.cursor !== undefined} pageSize={listing.filter.limit} live={`/live/tasks${liveQuery(c.req.url)}`} />);
  });

  routes.get('/tasks/:id', signedIn, async (c) => {
    const viewer = c.get('viewer');
    const task = await findTask(db, c.req.param('id'), viewer.principal.project);
    return c.html(<TaskPage viewer={viewer} task={toTask(task)} events={await listTaskEvents(db, task.id)} log={await readLogTail(task.id)} consoles={await listConsoleSessions(db, task.id)} />);
  });

  routes.get('/console', signedIn, (c) => {
    const viewer = c.get('viewer');
    const query = c.req.query();
    const form: ConsoleForm = { project: viewer.principal.project ?? query.project ?? 'default', stage: query.stage ?? 'default', app: query.app ?? '', command: query.command ?? 'sh' };
    return c.html(<ConsoleFormPage viewer={viewer} form={form} idempotencyKey={randomUUID()} />);
  });

  // `tapit run`'s create: the API's schema, permission checks and batch of creates, then the console.
  routes.post('/console', signedIn, async (c) => {
    const viewer = c.get('viewer');
    const { principal } = viewer;
    const body = await c.req.parseBody();
    const text = (key: string) => formText(body, key);
    // As the API: a viewer is refused before its fields are read.
    requireRole(principal, 'member');
    const form: ConsoleForm = { project: text('project'), stage: text('stage'), app: text('app'), command: text('command') };
    const invalid = (message: string) => c.html(<ConsoleFormPage viewer={viewer} form={form} idempotencyKey={randomUUID()} error={message} />, 400);
    for (const field of ['project', 'stage', 'app'] as const) {
      const name = Name.safeParse(form[field]);
      if (!name.success) return invalid(`${field}: ${name.error.issues[0]!.message}`);
    }
    const sent = { command: form.command, kind: 'interactive' };
    const request = CreateTaskRequest.safeParse(sent);
    if (!request.success) return invalid(`command: ${request.error.issues[0]!.message}`);
    requireProject(principal, form.project);
    let answer;
    try {
      answer = await creation.submit({
        path: { project: form.project, stage: form.stage, app: form.app },
        body: request.data,
        files: [],
        actor: principal.name,
        source: clientAddress(c),
        idempotency: formIdempotency(text('idempotency_key'), `/v1/projects/${form.project}/stages/${form.stage}/apps/${form.app}/tasks`, sent),
      });
    } catch (error) {
      // A missing app is the form's to fix, shown with it; anything else is the error page's.
      const refusal = toApiError(error);
      if (refusal?.status === 404 || refusal?.status === 400 || refusal?.status === 422) return c.html(<ConsoleFormPage viewer={viewer} form={form} idempotencyKey={randomUUID()} error={refusal.message} />, refusal.status as 400);
      throw error;
    }
    deps.signals.workAvailable();
    return c.redirect(`/tasks/${(answer.task as { id: string }).id}/console`, 303);
  });

  routes.get('/tasks/:id/console', signedIn, async (c) => {
    const viewer = c.get('viewer');
    const task = await findTask(db, c.req.param('id'), viewer.principal.project);
    return consolePage(c, <ConsolePage viewer={viewer} task={toTask(task)} mode="attach" />);
  });

  routes.get('/tasks/:id/exec', signedIn, async (c) => {
    const viewer = c.get('viewer');
    const task = await findTask(db, c.req.param('id'), viewer.principal.project);
    const command = execArgv(c.req.query('command') ?? 'sh');
    if (command.length === 0) return c.html(<ErrorPage viewer={viewer} title="Cannot show this" message="command: must not be empty" />, 400);
    return consolePage(c, <ConsolePage viewer={viewer} task={toTask(task)} mode="exec" command={command} />);
  });

  // What a console page polls while its task starts (`tapit run` follows the log for it).
  routes.get('/tasks/:id/status', signedIn, async (c) => {
    const task = toTask(await findTask(db, c.req.param('id'), c.get('viewer').principal.project));
    c.header('Cache-Control', 'no-store');
    return c.json({ status: task.status, exitCode: task.exitCode, stopCode: task.stopCode });
  });

  routes.get('/consoles/:session', signedIn, async (c) => {
    const viewer = c.get('viewer');
    // As GET /v1/consoles/:session/recording: a recording can hold what users typed.
    requireRole(viewer.principal, 'member');
    const recording = await openRecording(db, c.req.param('session'), viewer.principal.project);
    const header = JSON.parse(recording.header) as { title: string };
    const taskId = (await db.selectFrom('console_sessions').select('task_id').where('id', '=', c.req.param('session')).executeTakeFirstOrThrow()).task_id;
    return consolePage(c, <RecordingPage viewer={viewer} session={{ id: c.req.param('session'), taskId, title: header.title }} />);
  });

  routes.get('/consoles/:session/recording.cast', signedIn, async (c) => {
    const viewer = c.get('viewer');
    requireRole(viewer.principal, 'member');
    const recording = await openRecording(db, c.req.param('session'), viewer.principal.project);
    // As the API's download: what was typed may be in it, so never sniffed, cached or shown inline.
    c.header('Content-Type', 'application/x-asciicast');
    c.header('Content-Disposition', `attachment; filename="console-${c.req.param('session')}.cast"`);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Cache-Control', 'no-store');
    return stream(c, async (out) => {
      await out.write(recording.header);
      for await (const page of recording.events()) {
        if (out.aborted) return;
        await out.write(page);
      }
    });
  });

  // The other pages (run a task, schedules, agents, audit, tokens), each in its own module.
  const pages: PageContext = { routes, deps, signedIn };
  runRoutes(pages);
  scheduleRoutes(pages);
  agentRoutes(pages);
  auditRoutes(pages);
  tokenRoutes(pages);

  // Stop and delete: a confirmation page (GET), whose form posts the action (POST, with its CSRF
  // token) through the API's own checks and audit (tasks/task-actions.ts).
  for (const action of ['stop', 'delete'] as const) {
    routes.get(`/tasks/:id/${action}`, signedIn, async (c) => {
      const viewer = c.get('viewer');
      const task = await findTask(db, c.req.param('id'), viewer.principal.project);
      return c.html(<ConfirmPage viewer={viewer} task={toTask(task)} action={action} />);
    });
  }
  routes.post('/tasks/:id/stop', signedIn, async (c) => {
    const task = await stopTaskAs(deps, c.get('viewer').principal, c.req.param('id'), { initiatedBy: null, source: clientAddress(c) });
    return c.redirect(`/tasks/${task.id}`, 303);
  });
  routes.post('/tasks/:id/delete', signedIn, async (c) => {
    await deleteTaskAs(deps, c.get('viewer').principal, c.req.param('id'), { initiatedBy: null, source: clientAddress(c) });
    return c.redirect('/tasks', 303);
  });

  // The whole log as `tapit show logs --raw` prints it: the task's output, byte for byte, without
  // times or [system] lines; read a page at a time at the browser's pace.
  routes.get('/tasks/:id/log.txt', signedIn, async (c) => {
    const task = await findTask(db, c.req.param('id'), c.get('viewer').principal.project);
    const state = await readLogState(db, task.id);
    c.header('Content-Type', 'text/plain; charset=utf-8');
    c.header('Content-Disposition', `attachment; filename="task-${task.id}.log"`);
    c.header('Cache-Control', 'no-store');
    c.header('X-Content-Type-Options', 'nosniff');
    if (!state || state.log_expired_at) return c.body('');
    return stream(c, async (out) => {
      let after = 0;
      for (;;) {
        const { chunks, more } = await readLogChunks(db, task.id, after, { maxBytes: CHUNK_PAGE_BYTES });
        let text = '';
        for (const chunk of chunks) for (const run of parseChunk(chunk).runs) if (run.stream !== 'system') text += run.text;
        if (text) await out.write(text);
        const last = chunks.at(-1);
        if (!more || !last || out.aborted) return;
        after = last.first + last.lines - 1;
      }
    });
  });

  /** The last lines of a task's log, as `GET /v1/tasks/:id/logs?tail=N` reads them. */
  async function readLogTail(taskId: string): Promise<LogTail> {
    const state = await readLogState(db, taskId);
    if (!state) return { lines: [], total: 0, expiredAt: null };
    if (state.log_expired_at) return { lines: [], total: state.log_count, expiredAt: state.log_expired_at.toISOString() };
    const from = Math.max(0, state.log_count - LOG_TAIL_LINES);
    const { chunks } = await readLogChunks(db, taskId, from, { maxLines: LOG_TAIL_LINES });
    const lines: LogLine[] = chunks.flatMap((chunk) => linesOfChunk(parseChunk(chunk)));
    // Lines stored since the count was read may be in the chunks read after it: the page's live
    // log goes on after the last line it shows, not after the count.
    return { lines, total: Math.max(state.log_count, lines.at(-1)?.position ?? 0), expiredAt: null };
  }

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

/**
 * A page with a terminal: the dashboard's policy, with the inline styles xterm.js sets on what it
 * draws (a <style> it writes, style attributes); scripts stay 'self' only.
 */
export const CONSOLE_CSP = DASHBOARD_CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'");

function consolePage(c: Context, page: HtmlEscapedString | Promise<HtmlEscapedString>) {
  c.header('Content-Security-Policy', CONSOLE_CSP);
  return c.html(page);
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

/** A page's own query, for its live socket to list the same (`?…`, or '' without one). */
function liveQuery(url: string): string {
  const { search } = new URL(url);
  return search;
}
