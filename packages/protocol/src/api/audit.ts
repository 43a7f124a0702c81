import { z } from 'zod';
import { Name, Timestamp } from '../common/ids.js';

/**
 * Every action the audit trail records. A change is recorded under one of these names only, so a
 * filter can be checked against the list and a misspelt one is refused instead of finding nothing.
 */
export const AuditAction = z.enum([
  'project.create',
  'stage.create',
  'app.create',
  'app.update',
  'release.create',
  'env.update',
  'task.create',
  'task.stop',
  'task.delete',
  'task.copy',
  'schedule.create',
  'schedule.delete',
  'schedule.suspend',
  'schedule.resume',
  'schedule.trigger',
  'schedule.fire',
  'schedule.skip',
  'webhook.set',
  'registry.set',
  'registry.delete',
  'webhook.remove',
  'token.create',
  'token.revoke',
  'join-token.create',
  'join-token.revoke',
  'agent.join',
  'agent.update',
  'agent.revoke',
  'agent.delete',
  'console.attach',
  'console.detach',
  'console.end',
  'console.exec',
  'console.exec.end',
  'console.attach.refused',
  'console.exec.refused',
]);
export type AuditAction = z.infer<typeof AuditAction>;

/** Longest `initiatedBy` kept: a longer header is cut to this with an ellipsis. */
export const INITIATED_BY_MAX_CHARS = 200;

/** One recorded change: who, on whose behalf, what, on which object, in which project, from where, when. */
export const AuditEvent = z.object({
  /** Increases with every event recorded; events are listed newest first by `time`, then `id`. */
  id: z.number().int().positive(),
  time: Timestamp,
  /** The API token's name; `scheduler` for what a schedule does on its own; `tapit-scheduler` for admin commands. */
  actor: z.string(),
  /** The client's `X-Initiated-By` (or a task's `initiatedBy`); null when it sent none. */
  initiatedBy: z.string().nullable(),
  /** An `AuditAction`; read as text so that a newer scheduler's actions still parse. */
  action: z.string(),
  /** task, schedule, app, project, stage, token, join-token, agent. */
  targetType: z.string(),
  /** The object's id (a task or schedule id) or name (`project/stage/app` for an app). */
  targetId: z.string(),
  project: z.string().nullable(),
  /** The client's address, when known. */
  source: z.string().nullable(),
  /** What else the action says (an app's new constraints, a console's command); never a secret. */
  details: z.record(z.string(), z.unknown()),
});
export type AuditEvent = z.infer<typeof AuditEvent>;

export const AuditEventList = z.object({
  items: z.array(AuditEvent),
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  nextCursor: z.string().nullable(),
});
export type AuditEventList = z.infer<typeof AuditEventList>;

const ACTION_RULE = `must be an action (${AuditAction.options.join(', ')}) or all of a kind, such as task.*`;

/** The actions an `action` filter names: one action, or a kind (`task.*`: every action of tasks). */
export function auditActionsOf(filter: string): AuditAction[] {
  if (filter.endsWith('.*')) return AuditAction.options.filter((action) => action.startsWith(filter.slice(0, -1)));
  return AuditAction.options.filter((action) => action === filter);
}

/** Client text a filter matches exactly: at most what is stored. */
const FilterText = z
  .string()
  .min(1, 'must not be empty')
  .max(200, 'must be at most 200 characters')
  .refine((s) => !s.includes('\0'), 'must not contain NUL bytes');

export const ListAuditQuery = z.strictObject({
  /** Only events at or after this time (ISO 8601 with its zone). */
  since: Timestamp.optional(),
  actor: FilterText.optional(),
  /** One action, or all of a kind (`task.*`). */
  action: z
    .string()
    .refine((s) => auditActionsOf(s).length > 0, ACTION_RULE)
    .transform(auditActionsOf)
    .optional(),
  /** A target's id or name; 4 to 32 lowercase hex characters also match ids starting with them (a task id prefix). */
  target: FilterText.optional(),
  project: Name.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
});
export type ListAuditQuery = z.input<typeof ListAuditQuery>;
