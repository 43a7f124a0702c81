/** @jsxImportSource hono/jsx */
import { ListSchedulesQuery } from '@tapit/protocol';
import { requireProject } from '../auth/permissions.js';
import { inTransaction } from '../db/transaction.js';
import { parseValue } from '../http/validate.js';
import { resumeScheduleAs, scheduleTrigger, suspendScheduleAs } from '../schedules/schedule-actions.js';
import { findSchedule, listSchedules } from '../schedules/repository.js';
import { toScheduleDetail, toSchedules } from '../schedules/schedule-view.js';
import { PAGE_SIZE, queryError, queryOf } from './filters.js';
import { requesterOf, type PageContext } from './page-context.js';
import { SchedulePage, SchedulesPage, type ScheduleFilters } from './schedules-page.js';

/** What a finished action says on the schedule's page (`?done=`). */
const NOTICES: Record<string, string> = { suspend: 'Suspended: no slot fires until it is resumed.', resume: 'Resumed.', trigger: 'Triggered a run now:' };

/**
 * `/schedules` and a schedule's page, read as `GET /v1/schedules` and `/v1/schedules/:id` read
 * them; its buttons change it as `POST /v1/schedules/:id/suspend|resume|trigger` do
 * (schedules/schedule-actions.ts: a member of its project, audited).
 */
export function scheduleRoutes({ routes, deps, signedIn }: PageContext) {
  const { db, signals } = deps;

  routes.get('/schedules', signedIn, async (c) => {
    const viewer = c.get('viewer');
    const raw = queryOf(c.req.query());
    const filters: ScheduleFilters = { project: raw.project, stage: raw.stage, app: raw.app, limit: raw.limit };
    let query;
    try {
      query = parseValue({ ...raw, limit: raw.limit ?? PAGE_SIZE }, ListSchedulesQuery);
    } catch (caught) {
      const error = queryError(caught);
      if (error === undefined) throw caught;
      return c.html(<SchedulesPage viewer={viewer} filters={filters} schedules={[]} nextCursor={null} paged={false} error={error} />, 400);
    }
    // As GET /v1/schedules: another project is "not found", and a limited token lists only its own.
    if (query.project) requireProject(viewer.principal, query.project);
    const { rows, nextCursor } = await listSchedules(db, { ...query, project: viewer.principal.project ?? query.project });
    return c.html(<SchedulesPage viewer={viewer} filters={filters} schedules={await toSchedules(db, rows)} nextCursor={nextCursor} paged={query.cursor !== undefined} />);
  });

  routes.get('/schedules/:id', signedIn, async (c) => {
    const viewer = c.get('viewer');
    const schedule = await findSchedule(db, c.req.param('id'), viewer.principal.project);
    const done = NOTICES[c.req.query('done') ?? ''];
    const taskId = c.req.query('task');
    const notice = done === undefined ? undefined : { text: done, taskId: taskId && /^[0-9a-f]{32}$/.test(taskId) ? taskId : undefined };
    return c.html(<SchedulePage viewer={viewer} schedule={await toScheduleDetail(db, schedule)} notice={notice} />);
  });

  routes.post('/schedules/:id/suspend', signedIn, async (c) => {
    const schedule = await suspendScheduleAs(db, c.get('viewer').principal, requesterOf(c), c.req.param('id'));
    return c.redirect(`/schedules/${schedule.id}?done=suspend`, 303);
  });

  routes.post('/schedules/:id/resume', signedIn, async (c) => {
    const schedule = await resumeScheduleAs(db, signals, c.get('viewer').principal, requesterOf(c), c.req.param('id'));
    return c.redirect(`/schedules/${schedule.id}?done=resume`, 303);
  });

  // No Idempotency-Key: a resent form triggers again, as `tapit trigger schedule` run twice does.
  routes.post('/schedules/:id/trigger', signedIn, async (c) => {
    const trigger = await scheduleTrigger(db, signals, c.get('viewer').principal, requesterOf(c), c.req.param('id'));
    const run = await inTransaction(db, trigger.start);
    await trigger.afterCommit();
    return c.redirect(`/schedules/${run.scheduleId}?done=trigger&task=${run.taskId}`, 303);
  });
}
