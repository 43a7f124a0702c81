import type { MiddlewareHandler } from 'hono';
import { authenticate } from '../auth/tokens.js';
import { ApiError } from './api-error.js';
import type { AppDeps, HonoEnv } from './context.js';

/** Every /v1 call needs a valid bearer token; revoked ones fail at once (looked up each time). */
export function requireToken(deps: AppDeps): MiddlewareHandler<HonoEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new ApiError('UNAUTHORIZED', 'missing bearer token: run `tapit login` or set TAPIT_TOKEN');
    const principal = await authenticate(deps.db, match[1]);
    if (!principal) throw new ApiError('UNAUTHORIZED', 'invalid or revoked token');
    c.set('principal', principal);
    await next();
  };
}
