import { createHash, timingSafeEqual } from 'node:crypto';
import type { AuthFailures } from '../auth/auth-failures.js';
import type { SchedulerMetrics } from './scheduler-metrics.js';

export const METRICS_PATH = '/metrics';

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * Answers `GET /metrics` with the Prometheus text; with a token, only to `Authorization: Bearer
 * <token>` (401 otherwise, compared in constant time). Served on the API port only when
 * TAPIT_METRICS_TOKEN is set, and on TAPIT_METRICS_LISTEN's own listener when that is. Wrong
 * tokens count as failed logins of their address, as on the API: guessing is slowed the same way.
 */
export function metricsEndpoint(
  metrics: SchedulerMetrics,
  token: string | undefined,
  failures: AuthFailures,
): (request: Request, env?: { incoming?: { socket: { remoteAddress?: string } } }) => Promise<Response> {
  const expected = token === undefined ? null : digest(token);
  const error = (status: number, code: string, message: string, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify({ error: { code, message } }), { status, headers: { 'content-type': 'application/json', ...headers } });
  return async (request, env) => {
    if (new URL(request.url).pathname !== METRICS_PATH) return error(404, 'NOT_FOUND', `only GET ${METRICS_PATH} is served here`);
    if (request.method !== 'GET') return error(405, 'METHOD_NOT_ALLOWED', `${METRICS_PATH} answers GET only`, { allow: 'GET' });
    if (expected !== null) {
      const address = env?.incoming?.socket.remoteAddress;
      const wait = failures.retryAfter(address);
      if (wait > 0) return error(429, 'RATE_LIMITED', `too many failed authentications from your address: try again in ${wait} s`, { 'retry-after': String(wait) });
      const presented = /^Bearer\s+(\S+)$/i.exec(request.headers.get('authorization') ?? '')?.[1];
      if (presented === undefined || !timingSafeEqual(digest(presented), expected)) {
        failures.failed(address, presented === undefined ? 'missing token' : 'invalid token', 'the metrics endpoint');
        return error(401, 'UNAUTHORIZED', `${METRICS_PATH} needs the bearer token TAPIT_METRICS_TOKEN`, { 'www-authenticate': 'Bearer' });
      }
    }
    return new Response(await metrics.text(), { status: 200, headers: { 'content-type': metrics.registry.contentType } });
  };
}

/** Whether the API port hands `request` to the metrics endpoint (any method: a POST gets its 405). */
export function isMetricsRequest(request: Request): boolean {
  return new URL(request.url).pathname === METRICS_PATH;
}
