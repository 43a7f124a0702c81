import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { DomainError } from '../domain/domain-error.js';

export interface ScheduleOwner {
  id: string;
  appId: number;
  project: string;
}

/**
 * A schedule by id or unique prefix, seen as `project` (a token limited to one) sees it: another
 * project's schedule is not found, exactly as a missing one.
 */
export async function findScheduleOwner(db: Kysely<Database>, ref: string, project: string | null): Promise<ScheduleOwner> {
  let query = db.selectFrom('schedules as s').innerJoin('apps as a', 'a.id', 's.app_id').select(['s.id', 's.app_id', 'a.project']);
  // A prefix as a range of the primary key, as task references are.
  query = ref.length === 32 ? query.where('s.id', '=', ref) : query.where('s.id', '>=', ref.padEnd(32, '0')).where('s.id', '<=', ref.padEnd(32, 'f'));
  if (project !== null) query = query.where('a.project', '=', project);
  const rows = await query.limit(2).execute();
  if (rows.length === 0) throw new DomainError('NOT_FOUND', `schedule "${ref}" not found`, 'schedule');
  if (rows.length > 1) throw new DomainError('AMBIGUOUS_ID', `schedule id prefix "${ref}" matches more than one schedule: give more characters`, 'schedule');
  return { id: rows[0].id, appId: rows[0].app_id, project: rows[0].project };
}
