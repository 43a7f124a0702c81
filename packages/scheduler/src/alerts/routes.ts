import { ListDeliveriesQuery, Name, SetWebhookRequest } from '@tapit/protocol';
import { Hono, type Context } from 'hono';
import { requireProject, requireRole } from '../auth/permissions.js';
import { recordAudit } from '../audit/record.js';
import { requestAudit } from '../audit/request-audit.js';
import { findApp } from '../apps/repository.js';
import { findSchedule } from '../schedules/repository.js';
import { DomainError } from '../domain/domain-error.js';
import type { AppDeps, HonoEnv } from '../http/context.js';
import { parseBody, parseParam, parseQuery } from '../http/validate.js';
import { listDeliveries } from './deliveries.js';
import { findWebhook, removeWebhook, setWebhook, webhookOrigin, type WebhookOwner } from './webhooks.js';

const noWebhook = (targetType: string) =>
  new DomainError('NOT_FOUND', targetType === 'schedule' ? "this schedule has no webhook of its own (its app's applies, if any)" : 'this app has no webhook', 'webhook');

/** Alerts: a schedule's deliveries, and the webhooks of schedules and apps (docs/schedules.md, "Alerts"). */
export function alertRoutes(deps: AppDeps) {
  const { db } = deps;
  const routes = new Hono<HonoEnv>();

  const scheduleOf = (c: Context<HonoEnv>) => findSchedule(db, c.req.param('id') ?? '', c.get('principal').project);

  /** The owner, the audit target and the project of a webhook route. */
  const webhookOf = async (c: Context<HonoEnv>): Promise<{ owner: WebhookOwner; targetType: string; targetId: string; project: string }> => {
    if (c.req.param('id') !== undefined) {
      const schedule = await scheduleOf(c);
      return { owner: { scheduleId: schedule.id }, targetType: 'schedule', targetId: schedule.id, project: schedule.project };
    }
    const path = { project: parseParam(c, 'project', Name), stage: parseParam(c, 'stage', Name), app: parseParam(c, 'app', Name) };
    requireProject(c.get('principal'), path.project);
    const app = await findApp(db, path);
    return { owner: { appId: app.id }, targetType: 'app', targetId: `${path.project}/${path.stage}/${path.app}`, project: path.project };
  };

  routes.get('/schedules/:id/deliveries', async (c) => {
    const query = parseQuery(c, ListDeliveriesQuery);
    const schedule = await scheduleOf(c);
    return c.json(await listDeliveries(db, schedule.id, query));
  });

  for (const path of ['/schedules/:id/webhook', '/projects/:project/stages/:stage/apps/:app/webhook']) {
    routes.get(path, async (c) => {
      const { owner, targetType } = await webhookOf(c);
      const webhook = await findWebhook(db, owner);
      if (!webhook) throw noWebhook(targetType);
      return c.json(webhook);
    });

    routes.put(path, async (c) => {
      const principal = c.get('principal');
      requireRole(principal, 'member');
      const { owner, targetType, targetId, project } = await webhookOf(c);
      const body = await parseBody(c, SetWebhookRequest);
      const created = await db.transaction().execute(async (trx) => {
        const replaced = (await findWebhook(trx, owner)) !== null;
        const webhook = await setWebhook(trx, owner, body.url, principal.name);
        // The origin only: a path or query may carry the receiver's token; the secret never.
        await recordAudit(trx, { ...requestAudit(c), action: 'webhook.set', targetType, targetId, project, details: { url: webhookOrigin(body.url), replaced } });
        return webhook;
      });
      return c.json(created);
    });

    routes.delete(path, async (c) => {
      const principal = c.get('principal');
      requireRole(principal, 'member');
      const { owner, targetType, targetId, project } = await webhookOf(c);
      await db.transaction().execute(async (trx) => {
        if (!(await removeWebhook(trx, owner))) throw noWebhook(targetType);
        await recordAudit(trx, { ...requestAudit(c), action: 'webhook.remove', targetType, targetId, project });
      });
      return c.body(null, 204);
    });
  }

  return routes;
}
