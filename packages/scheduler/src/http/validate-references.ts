import { TaskIdPrefix } from '@tapit/protocol';
import type { Context, Hono, Next } from 'hono';
import { ApiError } from './api-error.js';
import type { HonoEnv } from './context.js';

/** What a task reference in a path must be: a task id or a unique prefix of one. */
export const TASK_REFERENCE_RULE = 'must be 4 to 32 lowercase hex characters (a task id or a unique prefix of one)';
const CONSOLE_SESSION = /^[0-9a-f]{32}$/;

export const isTaskReference = (ref: string) => TaskIdPrefix.safeParse(ref).success;

/** What a schedule reference in a path must be (schedule ids look like task ids). */
export const SCHEDULE_REFERENCE_RULE = 'must be 4 to 32 lowercase hex characters (a schedule id or a unique prefix of one)';
export const isScheduleReference = isTaskReference;

/**
 * Checks the task, schedule and session references of every route that takes one, before anything else
 * (the token included): a stranger's 15 KB path segment costs nothing and is never echoed back.
 */
export function validateReferences(routes: Hono<HonoEnv>): void {
  // Schedule ids look like task ids: the same check, naming what the path refers to.
  const references = [
    { path: '/tasks', field: 'task', rule: TASK_REFERENCE_RULE },
    { path: '/schedules', field: 'schedule', rule: SCHEDULE_REFERENCE_RULE },
  ];
  for (const { path, field, rule } of references) {
    const check = async (c: Context<HonoEnv>, next: Next) => {
      if (!isTaskReference(c.req.param('id') ?? '')) throw new ApiError('VALIDATION_FAILED', `${field}: ${rule}`, field);
      await next();
    };
    routes.use(`${path}/:id`, check);
    routes.use(`${path}/:id/*`, check);
  }
  routes.use('/consoles/:session/*', async (c, next) => {
    if (!CONSOLE_SESSION.test(c.req.param('session'))) {
      throw new ApiError('VALIDATION_FAILED', 'session: must be a console session id, 32 lowercase hex characters', 'session');
    }
    await next();
  });
}
