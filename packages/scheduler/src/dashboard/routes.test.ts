import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, createTestApp } from '../testing/test-app.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../testing/test-database.js';
import { scriptPath } from './assets.js';
import { csrfTokenOf } from './csrf.js';
import { DASHBOARD_CSS_PATH } from './styles.js';

/** The value of a Set-Cookie named `name`, and its attributes. */
function cookieOf(headers: Headers, name: string): { value: string; attributes: string } | undefined {
  const line = headers.getSetCookie().find((l) => l.startsWith(`${name}=`));
  if (!line) return undefined;
  const [pair, ...attributes] = line.split(';');
  return { value: decodeURIComponent(pair!.slice(name.length + 1)), attributes: attributes.join(';') };
}

describe.each(DATABASE_KINDS)('dashboard routes on %s', (kind) => {
  let database: TestDatabase;
  let app: Awaited<ReturnType<typeof createTestApp>>['app'];

  /** Signs in with `token` through the form, as a browser does: the sign-in page's CSRF cookie and field, then the POST. */
  async function signIn(token: string, headers: Record<string, string> = {}) {
    const form = await app.request('/sign-in', { headers });
    const csrf = cookieOf(form.headers, 'tapit_sign_in_csrf')!.value;
    expect(await form.text()).toContain(`name="csrf" value="${csrf}"`);
    return app.request('/sign-in', {
      method: 'POST',
      headers: { ...headers, cookie: `tapit_sign_in_csrf=${csrf}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf, token }).toString(),
    });
  }

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    ({ app } = await createTestApp(database));
  });
  afterAll(() => database.drop());

  it('sends a browser without a session to sign in, and keeps the API and its 404 as they were', async () => {
    const page = await app.request('/tasks');
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/sign-in');
    expect((await app.request('/v1/tasks')).status).toBe(401);
    const unknown = await app.request('/no-such-page');
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    // The pages' 16 KiB form limit is theirs only: the API keeps its own.
    const big = await app.request('/v1/projects', { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x'.repeat(20_000) }) });
    expect(big.status).toBe(400);
    const css = await app.request(DASHBOARD_CSS_PATH);
    expect(css.headers.get('content-type')).toContain('text/css');
    expect(css.headers.get('cache-control')).toContain('immutable');
  });

  it('sets an HttpOnly, SameSite session cookie with an expiry; Secure behind a TLS proxy', async () => {
    const plain = await signIn(ADMIN_TOKEN);
    expect(plain.status).toBe(303);
    const cookie = cookieOf(plain.headers, 'tapit_session')!;
    expect(cookie.attributes).toMatch(/HttpOnly/);
    expect(cookie.attributes).toMatch(/SameSite=Lax/);
    expect(cookie.attributes).toMatch(/Max-Age=(4319\d|43200);/);
    expect(cookie.attributes).not.toMatch(/Secure/);
    const proxied = await signIn(ADMIN_TOKEN, { 'x-forwarded-proto': 'https' });
    expect(cookieOf(proxied.headers, 'tapit_session')!.attributes).toMatch(/Secure/);
  });

  it('serves pages that are never cached or framed', async () => {
    const session = cookieOf((await signIn(ADMIN_TOKEN)).headers, 'tapit_session')!.value;
    const page = await app.request('/tasks', { headers: { cookie: `tapit_session=${session}` } });
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    // Scripts and websockets of this origin only: no inline script, no other host.
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'; connect-src 'self'");
    expect(page.headers.get('content-security-policy')).not.toMatch(/unsafe|\*|https?:/);
    const html = await page.text();
    expect(html).toContain(`value="${csrfTokenOf(session)}"`);
    // Its live part: the script, and its socket at the page's own query.
    expect(html).toContain(`<script type="module" src="${scriptPath('tasks')}"></script>`);
    const filtered = await (await app.request('/tasks?app=web&status=RUNNING', { headers: { cookie: `tapit_session=${session}` } })).text();
    expect(filtered).toContain('data-live="/live/tasks?app=web&amp;status=RUNNING"');
  });

  it('serves the built client scripts by their hash, cached for good, and nothing else under /assets', async () => {
    // The build (scripts/bundle-client.mjs) made one per entry in client/entries/.
    const path = scriptPath('tasks')!;
    expect(path).toMatch(/^\/assets\/tasks-[0-9a-f]{12}\.js$/);
    const script = await app.request(path);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toContain('text/javascript');
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await script.text()).toContain('WebSocket');
    for (const other of ['/assets/tasks-000000000000.js', '/assets/manifest.json', '/assets/..%2Fmanifest.json']) expect((await app.request(other)).status).toBe(404);
  });

  it('refuses a form without its CSRF token with 403, and signs out with it', async () => {
    const session = cookieOf((await signIn(ADMIN_TOKEN)).headers, 'tapit_session')!.value;
    const post = (body: Record<string, string>, cookie = `tapit_session=${session}`) =>
      app.request('/sign-out', { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body).toString() });
    expect((await post({})).status).toBe(403);
    expect((await post({ csrf: csrfTokenOf('another-session') })).status).toBe(403);
    expect((await post({ csrf: csrfTokenOf(session) }, '')).status).toBe(403);
    expect((await app.request('/tasks', { headers: { cookie: `tapit_session=${session}` } })).status).toBe(200);
    expect((await post({ csrf: csrfTokenOf(session) })).status).toBe(303);
    expect((await app.request('/tasks', { headers: { cookie: `tapit_session=${session}` } })).headers.get('location')).toBe('/sign-in');
  });

  it('answers a bad token 401 and counts it toward the limiter of the API', async () => {
    // Without a client address (app.request) all failures share one key: the bucket of 30 empties.
    for (let i = 0; i < 30; i++) expect((await signIn('tapit_wrong')).status).toBe(401);
    const limited = await signIn(ADMIN_TOKEN);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await app.request('/v1/tasks', { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status).toBe(429);
  });
});
