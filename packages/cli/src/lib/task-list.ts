import { App, TaskList, TaskStatus, type Task } from '@tapit/protocol';
import type { ApiClient } from './api-client.js';
import { appPath, type Scope } from './context.js';
import { UsageError } from './errors.js';

/** The API returns at most this many per page. */
const API_PAGE_LIMIT = 500;

/** `--status running,pending` → `['RUNNING', 'PENDING']`, checked against the protocol's statuses. */
export function parseStatuses(value: string): TaskStatus[] {
  return value.split(',').map((part) => {
    const parsed = TaskStatus.safeParse(part.trim().toUpperCase());
    if (!parsed.success) throw new UsageError(`Invalid --status "${part}": allowed values are ${TaskStatus.options.join(', ')}`);
    return parsed.data;
  });
}

/**
 * Lists tasks newest first, paging on until `limit`. With an app, the app is looked up too, so
 * a misspelt app is reported as unknown instead of looking like an app without tasks.
 */
export async function listTasks(client: ApiClient, scope: Scope, statuses: readonly TaskStatus[] | undefined, limit: number): Promise<{ items: Task[]; nextCursor: string | null }> {
  const items: Task[] = [];
  let cursor: string | undefined;
  let nextCursor: string | null = null;
  const page = (limitLeft: number) =>
    client.get('/v1/tasks', TaskList, {
      project: scope.project,
      stage: scope.stage,
      app: scope.app,
      status: statuses?.join(','),
      limit: Math.min(API_PAGE_LIMIT, limitLeft),
      cursor,
    });
  // The app lookup runs beside the first page, and both are awaited together so that neither
  // rejection goes unhandled.
  const [first] = await Promise.all([page(limit), scope.app === undefined ? undefined : client.get(appPath({ ...scope, app: scope.app }), App)]);
  for (let current = first; ; current = await page(limit - items.length)) {
    items.push(...current.items);
    nextCursor = current.nextCursor;
    cursor = current.nextCursor ?? undefined;
    if (cursor === undefined || items.length >= limit) break;
  }
  return { items: items.slice(0, limit), nextCursor };
}
