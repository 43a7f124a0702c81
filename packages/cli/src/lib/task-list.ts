import { TaskList, TaskStatus, type Task } from '@tapit/protocol';
import type { ApiClient } from './api-client.js';
import type { Scope } from './context.js';
import { UsageError } from './errors.js';
import { listPaged } from './paged-list.js';

/** `--status running,pending` → `['RUNNING', 'PENDING']`, checked against the protocol's statuses. */
export function parseStatuses(value: string): TaskStatus[] {
  return value.split(',').map((part) => {
    const parsed = TaskStatus.safeParse(part.trim().toUpperCase());
    if (!parsed.success) throw new UsageError(`Invalid --status "${part}": allowed values are ${TaskStatus.options.join(', ')}`);
    return parsed.data;
  });
}

/** Lists tasks newest first, paging on until `limit` (an unknown app is an error: listPaged). */
export function listTasks(client: ApiClient, scope: Scope, statuses: readonly TaskStatus[] | undefined, limit: number): Promise<{ items: Task[]; nextCursor: string | null }> {
  return listPaged(client, '/v1/tasks', TaskList, scope, limit, { status: statuses?.join(',') });
}
