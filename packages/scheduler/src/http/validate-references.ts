import { TaskIdPrefix } from '@tapit/protocol';
import type { Hono } from 'hono';
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
  const checkTask = (ref: string) => {
    if (!isTaskReference(ref)) throw new ApiError('VALIDATION_FAILED', `task: ${TASK_REFERENCE_RULE}`, 'task');
  };
  routes.use('/tasks/:id', async (c, next) => {
    checkTask(c.req.param('id'));
    await next();
  });
  routes.use('/tasks/:id/*', async (c, next) => {
    checkTask(c.req.param('id'));
    await next();
  });
  const checkSchedule = (ref: string) => {
    if (!isScheduleReference(ref)) throw new ApiError('VALIDATION_FAILED', `schedule: ${SCHEDULE_REFERENCE_RULE}`, 'schedule');
  };
  routes.use('/schedules/:id', async (c, next) => {
    checkSchedule(c.req.param('id'));
    await next();
  });
  routes.use('/schedules/:id/*', async (c, next) => {
    checkSchedule(c.req.param('id'));
    await next();
  });
  routes.use('/consoles/:session/*', async (c, next) => {
    if (!CONSOLE_SESSION.test(c.req.param('session'))) {
      throw new ApiError('VALIDATION_FAILED', 'session: must be a console session id, 32 lowercase hex characters', 'session');
    }
    await next();
  });
}
