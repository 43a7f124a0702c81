import type { Context, Hono, MiddlewareHandler } from 'hono';
import type { Requester } from '../audit/request-audit.js';
import { clientAddress, type AppDeps } from '../http/context.js';
import type { Viewer } from './layout.js';

export type DashboardEnv = { Variables: { viewer: Viewer; sessionId: string } };

/** What a group of pages registers its routes with: the dashboard's router, the app's deps and the session check. */
export interface PageContext {
  routes: Hono<DashboardEnv>;
  deps: AppDeps;
  /** A live session, and on a POST its form's CSRF token (routes.tsx). */
  signedIn: MiddlewareHandler<DashboardEnv>;
}

/** Who makes a change from a page, as its audit event records it: the session's token, the browser's address. */
export function requesterOf(c: Context<DashboardEnv>): Requester {
  return { actor: c.get('viewer').principal.name, initiatedBy: null, source: clientAddress(c) };
}

/** A form's text field: trimmed, and '' when absent or a file. */
export function formText(form: Record<string, unknown>, name: string): string {
  const value = form[name];
  return typeof value === 'string' ? value.trim() : '';
}
