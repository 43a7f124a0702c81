import type { Hono } from 'hono';
import { csrfTokenOf } from '../dashboard/csrf.js';

type App = Pick<Hono<any>, 'request'>;

/** The value of a Set-Cookie named `name`. */
function cookieValue(headers: Headers, name: string): string | undefined {
  const line = headers.getSetCookie().find((l) => l.startsWith(`${name}=`));
  return line === undefined ? undefined : decodeURIComponent(line.slice(name.length + 1).split(';')[0]!);
}

/**
 * A browser's session on the dashboard, signed in with `token` through the sign-in form (its
 * CSRF cookie and field): pages are fetched and forms posted with the session's cookie, and
 * with the page's CSRF token unless the test gives its own.
 */
export async function dashboardSession(app: App, token: string) {
  const form = await app.request('/sign-in');
  const signInCsrf = cookieValue(form.headers, 'tapit_sign_in_csrf')!;
  const signedIn = await app.request('/sign-in', {
    method: 'POST',
    headers: { cookie: `tapit_sign_in_csrf=${signInCsrf}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrf: signInCsrf, token }).toString(),
  });
  const session = cookieValue(signedIn.headers, 'tapit_session');
  if (!session) throw new Error(`sign-in with ${token} failed: ${signedIn.status}`);
  const cookie = `tapit_session=${session}`;
  const csrf = csrfTokenOf(session);
  return {
    csrf,
    get: (path: string) => app.request(path, { headers: { cookie } }),
    /** POSTs `fields` as a form, with the session's CSRF token unless `fields` has a `csrf` (even empty: then none). */
    post: (path: string, fields: Record<string, string> = {}) => {
      const body = new URLSearchParams('csrf' in fields ? fields : { csrf, ...fields });
      if (body.get('csrf') === '') body.delete('csrf');
      return app.request(path, { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: body.toString() });
    },
    /** POSTs a multipart form (files), with the session's CSRF token. */
    postMultipart: (path: string, form: FormData) => {
      if (!form.has('csrf')) form.set('csrf', csrf);
      return app.request(path, { method: 'POST', headers: { cookie }, body: form });
    },
  };
}
