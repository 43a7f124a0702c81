import { CreateScheduleRequest, ListSchedulesQuery, Name, type AuditAction, type CreatedSchedule, type TriggeredRun } from '@tapit/protocol';
import { Hono, type Context } from 'hono';
import type { Transaction } from 'kysely';
import { findApp } from '../apps/repository.js';
import { recordAudit } from '../audit/record.js';
import { requestAudit } from '../audit/request-audit.js';
import { requireProject, requireRole } from '../auth/permissions.js';
import type { Database } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { DomainError } from '../domain/domain-error.js';
import type { AppDeps, HonoEnv } from '../http/context.js';
import { parseBody, parseParam, parseQuery } from '../http/validate.js';
import { createOnce } from '../idempotency/create-once.js';
import { configureScheduleWebhook } from './alert-hooks.js';
import { webhookOrigin } from '../alerts/webhooks.js';
import { parseCronSpec } from './cron-spec.js';
import { storedCronSpec } from './cron-spec-cache.js';
import {
  createSchedule,
  databaseNow,
  deleteSchedule,
  findSchedule,
  listSchedules,
  lockSchedule,
  pruneRuns,
  resumeSchedule,
  suspendSchedule,
  type ScheduleWithApp,
} from './repository.js';
import { toScheduleDetail, toSchedules } from './schedule-view.js';
import { noEffects, startSlot } from './start-attempt.js';

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

  /** A change by a member to one schedule of the token's projects, in one transaction with its audit event. */
  const change = async (
    c: Context<HonoEnv>,
    action: AuditAction,
    apply: (trx: Transaction<Database>, schedule: ScheduleWithApp) => Promise<boolean>,
  ): Promise<ScheduleWithApp> => {
    const principal = c.get('principal');
    requireRole(principal, 'member');
    const schedule = await findSchedule(db, c.req.param('id') ?? '', principal.project);
    await inTransaction(db, async (trx) => {
      if (!(await apply(trx, schedule))) return;
      await recordAudit(trx, { ...requestAudit(c), action, targetType: 'schedule', targetId: schedule.id, project: schedule.project });
    });
    return schedule;
  };

  routes.delete('/schedules/:id', async (c) => {
    await change(c, 'schedule.delete', async (trx, schedule) => {
      await deleteSchedule(trx, schedule.id);
      return true;
    });
    return c.body(null, 204);
  });

  routes.post('/schedules/:id/suspend', async (c) => {
    const schedule = await change(c, 'schedule.suspend', (trx, s) => suspendSchedule(trx, s.id));
    return c.json((await toSchedules(db, [await findSchedule(db, schedule.id, null)]))[0]);
  });

  routes.post('/schedules/:id/resume', async (c) => {
    const schedule = await change(c, 'schedule.resume', (trx, s) => resumeSchedule(trx, s.id, storedCronSpec(s.cron, s.timezone)));
    signals.schedulesChanged();
    return c.json((await toSchedules(db, [await findSchedule(db, schedule.id, null)]))[0]);
  });

  // Run now, outside the cron slots: a `manual` slot at the database's now, whatever the
  // concurrency policy and also while suspended. A task that cannot be created is refused (409/400)
  // and nothing is recorded.
  routes.post('/schedules/:id/trigger', async (c) => {
    const principal = c.get('principal');
    requireRole(principal, 'member');
    const found = await findSchedule(db, c.req.param('id'), principal.project);
    const effects = noEffects();
    const answer = await createOnce(c, db, async (trx): Promise<TriggeredRun> => {
      const schedule = await lockSchedule(trx, found.id);
      if (!schedule) throw new DomainError('NOT_FOUND', `schedule "${found.id}" not found`, 'schedule');
      const scheduledFor = await databaseNow(trx);
      const slot = { scheduleId: schedule.id, scheduledFor, trigger: 'manual' as const };
      // One event for the one change: this request's `schedule.trigger`, not also a `schedule.fire`.
      const taskId = await startSlot(trx, schedule, slot, effects, { refuseOnError: true, audit: false });
      if (taskId === null) throw new DomainError('CONFLICT', `schedule ${schedule.id} already has a run at ${scheduledFor.toISOString()}: trigger it again`, 'schedule');
      await recordAudit(trx, {
        ...requestAudit(c),
        action: 'schedule.trigger',
        targetType: 'schedule',
        targetId: schedule.id,
        project: found.project,
        details: { scheduledFor: scheduledFor.toISOString(), trigger: 'manual', attempt: 1, taskId },
      });
      return { scheduleId: schedule.id, scheduledFor: scheduledFor.toISOString(), taskId };
    });
    // After the commit, so placement sees the task (on a replay a harmless nudge).
    signals.workAvailable();
    await pruneRuns(db, [found.id]);
    return answer;
  });

  return routes;
}
