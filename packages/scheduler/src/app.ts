import { Hono } from 'hono';
import { agentRoutes } from './agents/routes.js';
import { alertRoutes } from './alerts/routes.js';
import { registryRoutes } from './registries/routes.js';
import { joinTokenRoutes } from './agents/join-token-routes.js';
import { appRoutes } from './apps/routes.js';
import { envRoutes } from './env/routes.js';
import { auditRoutes } from './audit/routes.js';
import { authRoutes } from './auth/routes.js';
import { consoleRoutes } from './consoles/routes.js';
import { coerceError, isDataException } from './db/errors.js';
import { RETRY_AFTER_SECONDS, toApiError } from './http/api-error.js';
import { closeIfBodyUnread } from './http/close-if-body-unread.js';
import { bodyLimitOf, MAX_BODY_BYTES } from './http/body-limit.js';
import { AuthFailures, DEFAULT_AUTH_FAILURES_PER_MINUTE } from './auth/auth-failures.js';
import { requireToken } from './http/authenticate.js';
import type { AppDeps, HonoEnv } from './http/context.js';
import { readInitiatedBy } from './http/initiated-by.js';
import { buildOpenApi } from './http/openapi.js';
import { logRoutes } from './logs/routes.js';
import { validateReferences } from './http/validate-references.js';
import { taskRoutes } from './tasks/routes.js';
import { copyRoutes } from './copies/routes.js';
import { dashboardRoutes } from './dashboard/routes.js';
import { scheduleRoutes } from './schedules/routes.js';
import type { Log } from './log.js';

/** POST …/apps/:app/tasks: its body limit is its own (it carries the task's files). */
const CREATE_TASK_PATH = /^\/v1\/projects\/[^/]+\/stages\/[^/]+\/apps\/[^/]+\/tasks\/?$/;

/** The HTTP API, with no port and no process state: tests call `app.request()`. */
export function createApp(deps: AppDeps, log: Log = () => {}) {
  const app = new Hono<HonoEnv>();
  if (deps.metrics) app.use(deps.metrics.httpMiddleware);
  app.use(closeIfBodyUnread);

  // Readiness: a replica whose database does not answer cannot serve; take it out of rotation.
  app.get('/healthz', async (c) => {
    const problem = await deps.checkDatabase();
    if (problem === null) return c.json({ status: 'ok', version: deps.version, database: deps.dbKind });
    c.header('Retry-After', String(RETRY_AFTER_SECONDS));
    return c.json({ error: { code: 'DATABASE_UNAVAILABLE', message: `the scheduler's database is unavailable: ${problem}` } }, 503);
  });
  // Liveness: the process serves. Never fails for the database, so an outage restarts nothing.
  app.get('/livez', (c) => c.json({ status: 'ok', version: deps.version }));

  const v1 = new Hono<HonoEnv>();
  const limitBody = bodyLimitOf(MAX_BODY_BYTES);
  v1.use((c, next) => (c.req.method === 'POST' && CREATE_TASK_PATH.test(c.req.path) ? next() : limitBody(c, next)));
  // Before the token: a malformed reference costs no database lookup and is never echoed.
  validateReferences(v1);
  // One limiter for the API and the dashboard's sign-in: guessing tokens costs the same on both.
  const authFailures = deps.authFailures ?? new AuthFailures({ perMinute: DEFAULT_AUTH_FAILURES_PER_MINUTE, log });
  v1.use(requireToken(deps, authFailures));
  v1.use(readInitiatedBy);
  // Behind the token like every /v1 route (docs/api.md): the route list is a map for an attacker.
  // Built at the first request: most schedulers are never asked, and it holds ~0.7 MB.
  let openApi: ReturnType<typeof buildOpenApi> | undefined;
  v1.get('/openapi.json', (c) => c.json((openApi ??= buildOpenApi(deps.version))));
  v1.route('/', authRoutes(deps));
  v1.route('/', appRoutes(deps));
  v1.route('/', envRoutes(deps));
  v1.route('/', taskRoutes(deps));
  v1.route('/', copyRoutes(deps));
  v1.route('/', scheduleRoutes(deps));
  v1.route('/', logRoutes(deps));
  v1.route('/', agentRoutes(deps));
  v1.route('/', joinTokenRoutes(deps));
  v1.route('/', consoleRoutes(deps));
  v1.route('/', alertRoutes(deps));
  v1.route('/', auditRoutes(deps));
  v1.route('/', registryRoutes(deps));
  app.route('/v1', v1);
  // The dashboard's pages at / (docs/dashboard.md): the same repositories and checks as /v1.
  app.route('/', dashboardRoutes(deps, authFailures, log));

  app.notFound((c) => c.json({ error: { code: 'NOT_FOUND', message: `no route for ${c.req.method} ${c.req.path}` } }, 404));

  // Errors are thrown inside (DomainError, or ApiError for HTTP's own) and converted here, once;
  // never a stack trace to a client.
  app.onError((caught, c) => {
    const answer = toApiError(caught);
    if (answer) {
      const field = answer.field ? { field: answer.field } : {};
      if (answer.code === 'DATABASE_UNAVAILABLE') {
        // The database went away under the request: retryable, and expected, so one line, no stack.
        log(`${c.req.method} ${c.req.path}: 503 ${answer.message}`);
        c.header('Retry-After', String(RETRY_AFTER_SECONDS));
      }
      if (answer.retryAfterSeconds !== undefined) c.header('Retry-After', String(answer.retryAfterSeconds));
      return c.json({ error: { code: answer.code, message: answer.message, ...field } }, answer.status as 400);
    }
    // A value that passed validation but not the database (e.g. past a column's range).
    if (isDataException(caught)) {
      return c.json({ error: { code: 'VALIDATION_FAILED', message: `a value is out of range or malformed: ${coerceError(caught).message}` } }, 400);
    }
    log(`internal error on ${c.req.method} ${c.req.path}: ${coerceError(caught).stack ?? String(caught)}`, 'error');
    return c.json({ error: { code: 'INTERNAL', message: 'internal error; the scheduler log has the details' } }, 500);
  });

  return app;
}
