import { App } from '@tapit/protocol';
import type { z } from 'zod';
import type { ApiClient, Query } from './api-client.js';
import { appPath, type Scope } from './context.js';

/** The API returns at most this many per page. */
const API_PAGE_LIMIT = 500;

/** A page of a listing: its items, and the cursor of the next (older) page. */
type PageSchema<T> = z.ZodType<{ items: T[]; nextCursor: string | null }>;

/** Lists `path` with `query`, paging on until `limit`; `first` is the first page when already asked for. */
export async function listPages<T>(
  client: ApiClient,
  path: string,
  schema: PageSchema<T>,
  query: Query,
  limit: number,
  first?: Promise<{ items: T[]; nextCursor: string | null }>,
): Promise<{ items: T[]; nextCursor: string | null }> {
  const items: T[] = [];
  let nextCursor: string | null = null;
  const page = (limitLeft: number, cursor?: string) => client.get(path, schema, { ...query, limit: Math.min(API_PAGE_LIMIT, limitLeft), cursor });
  for (let current = await (first ?? page(limit)); ; current = await page(limit - items.length, nextCursor ?? undefined)) {
    items.push(...current.items);
    nextCursor = current.nextCursor;
    if (nextCursor === null || items.length >= limit) break;
  }
  return { items: items.slice(0, limit), nextCursor };
}

/**
 * Lists `path` (`/v1/tasks`, `/v1/schedules`) within a scope, paging on until `limit`. With an
 * app, the app is looked up too, so a misspelt app is reported as unknown instead of looking like
 * an app with nothing in it.
 */
export async function listPaged<T>(client: ApiClient, path: string, schema: PageSchema<T>, scope: Scope, limit: number, query: Query = {}): Promise<{ items: T[]; nextCursor: string | null }> {
  const scoped = { ...query, project: scope.project, stage: scope.stage, app: scope.app };
  const firstPage = client.get(path, schema, { ...scoped, limit: Math.min(API_PAGE_LIMIT, limit) });
  // The app lookup runs beside the first page, and both are awaited together so that neither
  // rejection goes unhandled.
  await Promise.all([firstPage, scope.app === undefined ? undefined : client.get(appPath({ ...scope, app: scope.app }), App)]);
  return listPages(client, path, schema, scoped, limit, firstPage);
}
