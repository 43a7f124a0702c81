/** @jsxImportSource hono/jsx */
import { randomUUID } from 'node:crypto';
import { CreateTaskRequest, Name } from '@tapit/protocol';
import type { Context } from 'hono';
import { stream } from 'hono/streaming';
import type { HtmlEscapedString } from 'hono/utils/html';
import { requireProject, requireRole } from '../auth/permissions.js';
import { openRecording } from '../consoles/repository.js';
import { toApiError } from '../http/api-error.js';
import { clientAddress } from '../http/context.js';
import { taskCreationOf } from '../tasks/create-batch.js';
import { findTask } from '../tasks/repository.js';
import { toTask } from '../tasks/task-view.js';
import { ConsoleFormPage, type ConsoleForm } from './console-form-page.js';
import { ConsolePage, RecordingPage } from './console-page.js';
import { DASHBOARD_CSP } from './csp.js';
import { execArgv } from './exec-command.js';
import { formIdempotency } from './form-idempotency.js';
import { ErrorPage } from './layout.js';
import { formText, type PageContext } from './page-context.js';

/**
 * A page with a terminal: the dashboard's policy, with the inline styles xterm.js sets on what it
 * draws (a <style> it writes, style attributes); scripts stay 'self' only.
 */
export const CONSOLE_CSP = DASHBOARD_CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'");

/**
 * Consoles in the browser: `tapit run` from a form, a task's console and an exec into it (their
 * terminals speak to ConsoleBroker through browser sockets, sockets.ts), and recordings played
 * back. The create goes through the API's schema, permission checks and create batch.
 */
export function consoleRoutes({ routes, deps, signedIn }: PageContext) {
  const { db } = deps;
  const creation = taskCreationOf(db, deps.secrets);

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
}

function consolePage(c: Context, page: HtmlEscapedString | Promise<HtmlEscapedString>) {
  c.header('Content-Security-Policy', CONSOLE_CSP);
  return c.html(page);
}
