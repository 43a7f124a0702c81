import type { MiddlewareHandler } from 'hono';
import type { AuthFailures } from '../auth/auth-failures.js';
import { tokenLookups } from '../auth/tokens.js';
import { ApiError } from './api-error.js';
import { clientAddress, type AppDeps, type HonoEnv } from './context.js';

/**
 * Every /v1 call needs a valid bearer token; revoked ones fail at once (looked up each time, the
 * lookups of concurrent requests in one query).
 * An address that failed too often is answered 429 before its token is even looked up.
 */
export function requireToken(deps: AppDeps, failures: AuthFailures): MiddlewareHandler<HonoEnv> {
  const lookups = tokenLookups(deps.db);
  return async (c, next) => {
    const address = clientAddress(c);
    const wait = failures.retryAfter(address);
    if (wait > 0) {
      c.header('Retry-After', String(wait));
      throw new ApiError('RATE_LIMITED', `too many failed authentications from your address: try again in ${wait} s`);
    }
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) {
      failures.failed(address, 'missing token', 'the API');
      throw new ApiError('UNAUTHORIZED', 'missing bearer token: run `tapit login` or set TAPIT_TOKEN');
    }
    const principal = await lookups.submit(match[1]!);
    if (!principal) {
      failures.failed(address, 'invalid token', 'the API');
      throw new ApiError('UNAUTHORIZED', 'invalid or revoked token');
    }
    c.set('principal', principal);
    await next();
  };
}
