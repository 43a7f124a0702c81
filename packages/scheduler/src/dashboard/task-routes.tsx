/** @jsxImportSource hono/jsx */
import { linesOfChunk, type LogLine } from '@tapit/protocol';
import { stream } from 'hono/streaming';
import { listConsoleSessions } from '../consoles/repository.js';
import { parseChunk, readLogChunks, readLogState } from '../logs/repository.js';
import { CHUNK_PAGE_BYTES } from '../logs/routes.js';
import { findTask, listTaskEvents, listTasks } from '../tasks/repository.js';
import { deleteTaskAs, stopTaskAs } from '../tasks/task-actions.js';
import { toTask } from '../tasks/task-view.js';
import { requesterOf, type PageContext } from './page-context.js';
import { ConfirmPage, TaskPage, type LogTail } from './task-page.js';
import { readListing } from './task-listing.js';
import { TasksPage } from './tasks-page.js';

/** Lines of a task's log its page shows (the rest: `tapit show logs`). */
export const LOG_TAIL_LINES = 200;

/**
 * The tasks listing and a task's page, its stop and delete, its raw log: `tapit list tasks`,
 * `show task`, `stop task`, `delete task` and `show logs --raw`, through the same repositories
 * and checks as the API (`listTasks` with the token's project, `findTask` limited to it).
 */
export function taskRoutes({ routes, deps, signedIn }: PageContext) {
  const { db } = deps;

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
    const task = await stopTaskAs(deps, c.get('viewer').principal, c.req.param('id'), requesterOf(c));
    return c.redirect(`/tasks/${task.id}`, 303);
  });
  routes.post('/tasks/:id/delete', signedIn, async (c) => {
    await deleteTaskAs(deps, c.get('viewer').principal, c.req.param('id'), requesterOf(c));
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
}

/** A page's own query, for its live socket to list the same (`?…`, or '' without one). */
function liveQuery(url: string): string {
  return new URL(url).search;
}
