import { CreateScheduleRequest, ListSchedulesQuery, Name, type CreatedSchedule } from '@tapit/protocol';
import { Hono } from 'hono';
import { findApp } from '../apps/repository.js';
import { recordAudit } from '../audit/record.js';
import { requestAudit } from '../audit/request-audit.js';
import { requireProject, requireRole } from '../auth/permissions.js';
import { DomainError } from '../domain/domain-error.js';
import type { AppDeps, HonoEnv } from '../http/context.js';
import { parseBody, parseParam, parseQuery } from '../http/validate.js';
import { createOnce } from '../idempotency/create-once.js';
import { configureScheduleWebhook } from './alert-hooks.js';
import { webhookOrigin } from '../alerts/webhooks.js';
import { parseCronSpec } from './cron-spec.js';
import { createSchedule, findSchedule, listSchedules } from './repository.js';
import { deleteScheduleAs, resumeScheduleAs, scheduleTrigger, suspendScheduleAs } from './schedule-actions.js';
import { toScheduleDetail, toSchedules } from './schedule-view.js';

export function scheduleRoutes(deps: AppDeps) {
  const { db, signals } = deps;
  const routes = new Hono<HonoEnv>();

  routes.post('/projects/:project/stages/:stage/apps/:app/schedules', async (c) => {
    const principal = c.get('principal');
    const path = { project: parseParam(c, 'project', Name), stage: parseParam(c, 'stage', Name), app: parseParam(c, 'app', Name) };
    requireProject(principal, path.project);
    requireRole(principal, 'member');
    const body = await parseBody(c, CreateScheduleRequest);
    // A bad expression or zone is refused before anything is stored, naming `cron` or `timezone`.
    const spec = parseCronSpec(body.cron, body.timezone ?? 'UTC');
    const app = await findApp(db, path);
    const answer = await createOnce(c, db, async (trx): Promise<CreatedSchedule> => {
      const id = await createSchedule(trx, app, body, spec, principal.name);
      const webhook = await configureScheduleWebhook(trx, id, body.webhookUrl, principal.name);
      await recordAudit(trx, {
        ...requestAudit(c),
        action: 'schedule.create',
        targetType: 'schedule',
        targetId: id,
        project: path.project,
        // A webhook by its origin only: a path or query may hold the receiver's token; never the secret.
        details: { app: path.app, cron: spec.expression, timezone: spec.timezone, webhook: body.webhookUrl === undefined ? null : webhookOrigin(body.webhookUrl) },
      });
      const [schedule] = await toSchedules(trx, [await findSchedule(trx, id, null)]);
      return { ...schedule!, ...webhook };
    });
    signals.schedulesChanged();
    return answer;
  });

  routes.get('/schedules', async (c) => {
    const principal = c.get('principal');
    const query = parseQuery(c, ListSchedulesQuery);
    if (principal.project && query.project && query.project !== principal.project) {
      throw new DomainError('NOT_FOUND', `project "${query.project}" not found`);
    }
    const { rows, nextCursor } = await listSchedules(db, { ...query, project: principal.project ?? query.project });
    return c.json({ items: await toSchedules(db, rows), nextCursor });
  });

  routes.get('/schedules/:id', async (c) => {
    const schedule = await findSchedule(db, c.req.param('id'), c.get('principal').project);
    return c.json(await toScheduleDetail(db, schedule));
  });

  routes.delete('/schedules/:id', async (c) => {
    await deleteScheduleAs(db, c.get('principal'), requestAudit(c), c.req.param('id'));
    return c.body(null, 204);
  });

  routes.post('/schedules/:id/suspend', async (c) => c.json(await suspendScheduleAs(db, c.get('principal'), requestAudit(c), c.req.param('id'))));

  routes.post('/schedules/:id/resume', async (c) => c.json(await resumeScheduleAs(db, signals, c.get('principal'), requestAudit(c), c.req.param('id'))));

  // Run now, outside the cron slots (schedule-actions.ts), once per Idempotency-Key.
  routes.post('/schedules/:id/trigger', async (c) => {
    const trigger = await scheduleTrigger(db, signals, c.get('principal'), requestAudit(c), c.req.param('id'));
    const answer = await createOnce(c, db, trigger.start);
    await trigger.afterCommit();
    return answer;
  });

  return routes;
}
