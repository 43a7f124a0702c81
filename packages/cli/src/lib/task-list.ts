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
  const appCheck = scope.app === undefined ? undefined : client.get(appPath({ ...scope, app: scope.app }), App);
  const items: Task[] = [];
  let cursor: string | undefined;
  let nextCursor: string | null = null;
  do {
    const page = await client.get('/v1/tasks', TaskList, {
      project: scope.project,
      stage: scope.stage,
      app: scope.app,
      status: statuses?.join(','),
      limit: Math.min(API_PAGE_LIMIT, limit - items.length),
      cursor,
    });
    items.push(...page.items);
    nextCursor = page.nextCursor;
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined && items.length < limit);
  await appCheck;
  return { items: items.slice(0, limit), nextCursor };
}
