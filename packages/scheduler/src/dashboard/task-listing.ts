import { ListTasksQuery } from '@tapit/protocol';
import { requireProject } from '../auth/permissions.js';
import type { Principal } from '../auth/tokens.js';
import type { TaskFilter } from '../tasks/repository.js';
import type { TaskWithApp } from '../tasks/task-view.js';
import type { TaskFilters } from './tasks-page.js';
import { PAGE_SIZE, queryOf } from './filters.js';


/** A tasks page's query, read as `GET /v1/tasks` reads its own. */
export type Listing =
  | { ok: true; filters: TaskFilters; filter: TaskFilter }
  | { ok: false; filters: TaskFilters; error: string };

/**
 * The page's query (`/tasks?…`, and its live socket's `/live/tasks?…`) as the API's listing
 * filter: the form sends empty fields for filters left blank, which the API's query has not;
 * another project is "not found" (thrown), and a project-limited token lists only its own.
 */
export function readListing(query: Record<string, string>, principal: Principal): Listing {
  const raw = queryOf(query);
  const filters: TaskFilters = { project: raw.project, stage: raw.stage, app: raw.app, status: raw.status, limit: raw.limit };
  const parsed = ListTasksQuery.safeParse({ ...raw, limit: raw.limit ?? PAGE_SIZE });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, filters, error: `${issue.path.join('.') || 'query'}: ${issue.message}` };
  }
  if (parsed.data.project) requireProject(principal, parsed.data.project);
  return { ok: true, filters, filter: { ...parsed.data, project: principal.project ?? parsed.data.project } };
}

/** Whether a task is one a listing with this filter shows (its cursor aside): the token's project first. */
export function inListing(task: TaskWithApp, filter: TaskFilter, principal: Principal): { visible: boolean; matches: boolean } {
  const visible =
    (principal.project === null || task.project === principal.project) &&
    (filter.project === undefined || task.project === filter.project) &&
    (filter.stage === undefined || task.stage === filter.stage) &&
    (filter.app === undefined || task.app_name === filter.app);
  return { visible, matches: visible && (filter.status === undefined || filter.status.length === 0 || filter.status.includes(task.status as never)) };
}

/** The listing's order as one string that sorts the same way: newest first is descending. */
export const listingOrder = (task: { created_at: Date; id: string }) => `${task.created_at.toISOString()}|${task.id}`;
