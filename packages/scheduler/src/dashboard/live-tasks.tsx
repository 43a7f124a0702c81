/** @jsxImportSource hono/jsx */
import type { Kysely } from 'kysely';
import type { WebSocket } from 'ws';
import type { Database } from '../db/schema.js';
import { DomainError } from '../domain/domain-error.js';
import { listTasks } from '../tasks/repository.js';
import type { TaskChanges } from '../tasks/task-changes.js';
import type { TaskWithApp } from '../tasks/task-view.js';
import type { BrowserSocketHandler } from './browser-socket.js';
import { inListing, listingOrder, readListing } from './task-listing.js';
import { TaskRow } from './tasks-page.js';

/** What the tasks page's script gets (client/entries/tasks.ts): a row as the page renders it. */
export interface LiveTaskRow {
  type: 'task';
  id: string;
  order: string;
  matches: boolean;
  row: string;
}

/**
 * `/live/tasks?…` (the page's own query): the page's listing again at once (what changed
 * between the page and its socket, or while a dropped socket was away), then every task of the
 * listing's scope that changes, read by the replica's one TaskChanges reader. A task is sent
 * only if the token may see it and it is in the filters' project, stage and app; `matches`
 * says whether it is in the status filter too (the page updates a row it shows either way, and
 * puts a new one in only if it matches).
 */
export function liveTasks(deps: { db: Kysely<Database>; changes: TaskChanges }): BrowserSocketHandler {
  return async (ws, { principal, url, signal }) => {
    const listing = readListing(Object.fromEntries(url.searchParams), principal);
    if (!listing.ok) throw new DomainError('VALIDATION_FAILED', listing.error);
    const { filter } = listing;
    const send = (tasks: TaskWithApp[]) => {
      const now = new Date();
      for (const task of tasks) {
        const { visible, matches } = inListing(task, filter, principal);
        if (!visible || ws.readyState !== ws.OPEN) continue;
        const message: LiveTaskRow = { type: 'task', id: task.id, order: listingOrder(task), matches, row: String(<TaskRow task={task} now={now} />) };
        ws.send(JSON.stringify(message));
      }
    };
    // Listening first: a change made while the page is listed again is then sent after it.
    const queued: TaskWithApp[][] = [];
    let listed = false;
    const stop = deps.changes.listen((tasks) => (listed ? send(tasks) : queued.push(tasks)));
    signal.addEventListener('abort', stop);
    if (signal.aborted) return stop();
    const { rows } = await listTasks(deps.db, filter);
    send(rows);
    listed = true;
    for (const tasks of queued.splice(0)) send(tasks);
    // The page sends nothing: any frame from it is ignored.
    ws.on('message', () => {});
    closeWhenFull(ws);
  };
}

/** A browser that reads nothing while rows pile up is dropped (it reconnects and lists again). */
function closeWhenFull(ws: WebSocket): void {
  const timer = setInterval(() => {
    if (ws.bufferedAmount > 4 * 1024 * 1024) ws.terminate();
  }, 1000);
  ws.once('close', () => clearInterval(timer));
}
