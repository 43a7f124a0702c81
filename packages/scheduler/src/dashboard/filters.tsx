/** @jsxImportSource hono/jsx */
import { ApiError } from '../http/api-error.js';

/** Rows a listing page shows unless its query says `limit=` (as the API's pages). */
export const PAGE_SIZE = 50;

/** A listing page's query: its filters as typed (blank ones dropped, as the API's query has no empty values). */
export function queryOf(query: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(query).filter(([, value]) => value.trim() !== ''));
}

/** `path?key=value…` of the filters given, and the cursor of a page. */
export function listingHref(path: string, filters: Record<string, string | undefined>, cursor?: string): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) if (value) query.set(key, value);
  if (cursor) query.set('cursor', cursor);
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

/** The filters of a CLI listing as a GET form: one labelled field each, named as the API's query. */
export function FilterForm(props: { action: string; label: string; fields: { name: string; label?: string; locked?: string | null; placeholder?: string }[]; values: Record<string, string | undefined> }) {
  return (
    <form class="filters" method="get" action={props.action} aria-label={props.label}>
      {props.fields.map((field) => (
        <label for={`f-${field.name}`}>
          {field.label ?? field.name}
          <input id={`f-${field.name}`} name={field.name} value={field.locked ?? props.values[field.name] ?? ''} readonly={field.locked !== undefined && field.locked !== null} placeholder={field.placeholder} />
        </label>
      ))}
      <button type="submit">Filter</button>
    </form>
  );
}

/** An error of a listing's query as the page shows it: `field: message`, as the API says it. */
export function queryError(caught: unknown): string | undefined {
  return caught instanceof ApiError && caught.code === 'VALIDATION_FAILED' ? caught.message : undefined;
}

/** A listing's links to its newest page and to the next older one, keeping its filters. */
export function Pager(props: { path: string; filters: Record<string, string | undefined>; paged: boolean; nextCursor: string | null; older: string }) {
  return (
    <nav class="pager" aria-label="Pages">
      {props.paged && <a href={listingHref(props.path, props.filters)}>Newest</a>}
      {props.nextCursor && <a href={listingHref(props.path, props.filters, props.nextCursor)} rel="next">{props.older}</a>}
    </nav>
  );
}
