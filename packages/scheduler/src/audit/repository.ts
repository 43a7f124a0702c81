import type { AuditAction, AuditEvent } from '@tapit/protocol';
import { sql, type Kysely, type SelectQueryBuilder } from 'kysely';
import type { Principal } from '../auth/tokens.js';
import { decodeCursor, encodeCursor } from '../db/keyset-cursor.js';
import type { Database } from '../db/schema.js';
import { DomainError } from '../domain/domain-error.js';

/** Objects of the whole installation: their events are read by admins of all projects only. */
const INSTALLATION_TARGETS = ['token', 'join-token', 'agent'];

/** An audit event's id as a cursor holds it (an identity column: digits). */
const EVENT_ID = /^[1-9][0-9]{0,17}$/;

/** A task or schedule id prefix, as `show task` takes one: matched as the ids starting with it. */
const ID_PREFIX = /^[0-9a-f]{4,31}$/;

export interface AuditFilter {
  since?: string;
  actor?: string;
  action?: AuditAction[];
  target?: string;
  project?: string;
  limit: number;
  cursor?: string;
}

type AuditQuery = SelectQueryBuilder<Database, 'audit_events', object>;

/**
 * What a reader may see (docs/security.md, "The audit trail"): an admin for all projects, every
 * event; any other token, the events of its project (or of every project, for a token of all),
 * never those of no project (an admin command, a refused console) nor those of tokens, join tokens
 * and agents, which concern the whole installation.
 */
function visibleTo<Q extends AuditQuery>(query: Q, reader: Principal): Q {
  if (reader.role === 'admin' && reader.project === null) return query;
  let visible = query.where('project', 'is not', null).where('target_type', 'not in', INSTALLATION_TARGETS);
  if (reader.project !== null) visible = visible.where('project', '=', reader.project);
  return visible as Q;
}

/**
 * A time within what both databases store, and with the same answer: every event is after 1970,
 * none in the year 9999 (a timestamp may say year 0000, or 10000 in UTC, which they refuse).
 */
const clampTime = (ms: number) => Math.min(Math.max(0, ms), Date.UTC(9999, 11, 31));

/** Ends of the byte-ordered range of ids starting with `prefix` (hex: its last character plus one). */
const prefixEnd = (prefix: string) => prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);

/** A reader's audit events, newest first, keyset-paginated on (created_at, id). Reading records nothing. */
export async function listAuditEvents(db: Kysely<Database>, reader: Principal, filter: AuditFilter): Promise<{ items: AuditEvent[]; nextCursor: string | null }> {
  let query = visibleTo(db.selectFrom('audit_events').selectAll(), reader);
  if (filter.since !== undefined) query = query.where('created_at', '>=', new Date(clampTime(Date.parse(filter.since))));
  if (filter.actor !== undefined) query = query.where('actor', '=', filter.actor);
  if (filter.action !== undefined) query = query.where('action', 'in', filter.action);
  if (filter.project !== undefined) query = query.where('project', '=', filter.project);
  if (filter.target !== undefined) {
    // Byte order, as audit_events_target_idx keeps it: a prefix is one range of the index.
    const target = filter.target;
    query = ID_PREFIX.test(target)
      ? query.where(sql<boolean>`target_id COLLATE "C" >= ${target} AND target_id COLLATE "C" < ${prefixEnd(target)}`)
      : query.where(sql<boolean>`target_id COLLATE "C" = ${target}`);
  }
  if (filter.cursor !== undefined) {
    const id = Number(decodeCursor(filter.cursor, EVENT_ID));
    // Looked up among what this reader sees: an event it may not read is no place to start from.
    const found = await visibleTo(db.selectFrom('audit_events').selectAll(), reader).where('id', '=', id).executeTakeFirst();
    if (!found) throw new DomainError('VALIDATION_FAILED', 'cursor does not point at an audit event of this listing: list again without it', 'cursor');
    query = query.where(sql<boolean>`(created_at, id) < (SELECT c.created_at, c.id FROM audit_events c WHERE c.id = ${id})`);
  }
  const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit + 1).execute();
  const page = rows.slice(0, filter.limit);
  return {
    items: page.map((row) => ({
      id: row.id,
      time: row.created_at.toISOString(),
      actor: row.actor,
      initiatedBy: row.initiated_by,
      action: row.action,
      targetType: row.target_type,
      targetId: row.target_id,
      project: row.project,
      source: row.source,
      details: row.details,
    })),
    nextCursor: rows.length > filter.limit ? encodeCursor(page[page.length - 1]!) : null,
  };
}
