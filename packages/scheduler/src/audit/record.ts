import type { AuditAction } from '@tapit/protocol';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

export interface AuditEntry {
  actor: string;
  action: AuditAction;
  targetType: string;
  targetId: string;
  project?: string | null;
  /** Who the client said started it (X-Initiated-By, a task's initiatedBy). */
  initiatedBy?: string | null;
  source?: string | null;
  details?: Record<string, unknown>;
}

/** A text cut to `max` characters: what a client sent is stored only within a small bound (never within a character: a lone surrogate would be stored as U+FFFD). */
export const boundText = (text: string, max = 200) => (text.length <= max ? text : `${text.slice(0, max - 1).replace(/[\uD800-\uDBFF]$/, '')}…`);

/** Who did what to which thing, when, from where. */
export async function recordAudit(db: Kysely<Database>, entry: AuditEntry): Promise<void> {
  await recordAudits(db, [entry]);
}

/** Several audit events in one statement (a firing batch records one per slot it starts). */
export async function recordAudits(db: Kysely<Database>, entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await auditInsert(db, entries).execute();
}

/** The statement `recordAudits` runs, for a caller that runs it within one of its own (a CTE). */
export function auditInsert(db: Kysely<Database>, entries: AuditEntry[]) {
  return db.insertInto('audit_events').values(
    entries.map((entry) => ({
      actor: entry.actor,
      action: entry.action,
      target_type: entry.targetType,
      target_id: entry.targetId,
      project: entry.project ?? null,
      initiated_by: entry.initiatedBy ?? null,
      source: entry.source ?? null,
      details: JSON.stringify(entry.details ?? {}),
    })),
  );
}
