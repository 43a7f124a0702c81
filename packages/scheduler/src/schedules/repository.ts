import { CreateScheduleRequest, CreateTaskRequest, describeIssues, type ScheduleTaskTemplate } from '@tapit/protocol';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { z } from 'zod';
import { findRelease } from '../apps/repository.js';
import { decodeCursor, encodeCursor } from '../db/keyset-cursor.js';
import { newTaskId } from '../db/random-id.js';
import type { AppRow, Database, ScheduleRow } from '../db/schema.js';
import { DomainError } from '../domain/domain-error.js';
import { isScheduleReference, SCHEDULE_REFERENCE_RULE } from '../http/validate-references.js';
import { taskConstraints } from '../tasks/repository.js';
import { nextSlots, type CronSpec } from './cron-spec.js';
import { HISTORY_LIMIT } from './limits.js';

type ParsedCreateSchedule = z.output<typeof CreateScheduleRequest>;
type ParsedCreateTask = z.output<typeof CreateTaskRequest>;

export type ScheduleWithApp = ScheduleRow & { project: string; stage: string; app_name: string };


/**
 * The database's clock as it reads now (not the transaction's start), to the millisecond: slot
 * times are compared exactly in JavaScript, which has no finer time.
 */
export async function databaseNow(db: Kysely<Database>): Promise<Date> {
  const { rows } = await sql<{ now: Date }>`SELECT date_trunc('milliseconds', clock_timestamp()) AS now`.execute(db);
  return rows[0]!.now;
}

/** What each run creates, as stored: the request's task fields. */
export function toTaskTemplate(body: ParsedCreateSchedule): ScheduleTaskTemplate {
  return {
    command: body.command !== undefined ? ['/bin/sh', '-c', body.command] : body.args!,
    entrypoint: body.entrypoint ?? null,
    release: body.release ?? null,
    image: body.image ?? null,
    dockerTag: body.dockerTag ?? null,
    cpu: body.cpu ?? null,
    memoryGb: body.memoryGb ?? null,
    maxHours: body.maxHours ?? null,
    ephemeralStorageGb: body.ephemeralStorageGb ?? null,
    initiatedBy: body.initiatedBy ?? null,
    constraints: body.constraints ?? {},
  };
}

/** The task request a run makes of the template, checked as a create task request is. */
export function taskRequestOf(template: ScheduleTaskTemplate): ParsedCreateTask {
  const defined = <T>(value: T | null) => value ?? undefined;
  const parsed = CreateTaskRequest.safeParse({
    args: template.command,
    entrypoint: defined(template.entrypoint),
    kind: 'background',
    release: defined(template.release),
    image: defined(template.image),
    dockerTag: defined(template.dockerTag),
    cpu: defined(template.cpu),
    memoryGb: defined(template.memoryGb),
    maxHours: defined(template.maxHours),
    ephemeralStorageGb: defined(template.ephemeralStorageGb),
    initiatedBy: defined(template.initiatedBy),
    constraints: template.constraints,
  });
  if (!parsed.success) throw new DomainError('VALIDATION_FAILED', `the schedule's task is not valid: ${describeIssues(parsed.error)}`, 'task');
  return parsed.data;
}

/** Stores a new schedule whose first slot is the first after the database's now; returns its id. */
export async function createSchedule(trx: Transaction<Database>, app: AppRow, body: ParsedCreateSchedule, spec: CronSpec, createdBy: string): Promise<string> {
  taskConstraints(app, body.constraints);
  // A pinned release must exist (the active release is looked up at each run: runs follow deploys).
  if (body.release !== undefined) await findRelease(trx, app, body.release);
  const id = newTaskId();
  const now = await databaseNow(trx);
  await trx
    .insertInto('schedules')
    .values({
      id,
      app_id: app.id,
      cron: spec.expression,
      timezone: spec.timezone,
      concurrency: body.concurrency ?? 'allow',
      missed: body.missed ?? 'skip',
      starting_deadline_seconds: body.startingDeadlineSeconds ?? null,
      retries: body.retries ?? 0,
      task: JSON.stringify(toTaskTemplate(body)),
      next_run_at: nextSlots(spec, now, 1)[0]!,
      created_by: createdBy,
    })
    .execute();
  return id;
}

function selectSchedules(db: Kysely<Database>) {
  return db
    .selectFrom('schedules')
    .innerJoin('apps', 'apps.id', 'schedules.app_id')
    .selectAll('schedules')
    .select(['apps.project', 'apps.stage', 'apps.name as app_name']);
}

/** A schedule by full id or unique prefix, limited to one project when the token is. */
export async function findSchedule(db: Kysely<Database>, idOrPrefix: string, project: string | null): Promise<ScheduleWithApp> {
  // Never echoed: the reference may be anything a stranger sent.
  if (!isScheduleReference(idOrPrefix)) throw new DomainError('VALIDATION_FAILED', `schedule: ${SCHEDULE_REFERENCE_RULE}`, 'schedule');
  let query = selectSchedules(db);
  // A prefix as a range of the primary key, as for tasks.
  query =
    idOrPrefix.length === 32
      ? query.where('schedules.id', '=', idOrPrefix)
      : query.where('schedules.id', '>=', idOrPrefix.padEnd(32, '0')).where('schedules.id', '<=', idOrPrefix.padEnd(32, 'f'));
  if (project) query = query.where('apps.project', '=', project);
  const rows = await query.limit(2).execute();
  if (rows.length === 0) throw new DomainError('NOT_FOUND', `schedule "${idOrPrefix}" not found`, 'schedule');
  if (rows.length > 1) throw new DomainError('AMBIGUOUS_ID', `schedule id prefix "${idOrPrefix}" matches more than one schedule: give more characters`, 'schedule');
  return rows[0]!;
}

export interface ScheduleFilter {
  project?: string;
  stage?: string;
  app?: string;
  limit: number;
  cursor?: string;
}

/** Newest first, keyset-paginated on (created_at, id) like tasks. */
export async function listSchedules(db: Kysely<Database>, filter: ScheduleFilter): Promise<{ rows: ScheduleWithApp[]; nextCursor: string | null }> {
  let query = selectSchedules(db);
  if (filter.project) query = query.where('apps.project', '=', filter.project);
  if (filter.stage) query = query.where('apps.stage', '=', filter.stage);
  if (filter.app) query = query.where('apps.name', '=', filter.app);
  if (filter.cursor) {
    // Looked up inside the listing's project only: another project's id reveals nothing.
    const id = decodeCursor(filter.cursor);
    let at = db.selectFrom('schedules as c').innerJoin('apps as ca', 'ca.id', 'c.app_id').select('c.id').where('c.id', '=', id);
    if (filter.project) at = at.where('ca.project', '=', filter.project);
    if (!(await at.executeTakeFirst())) {
      throw new DomainError('VALIDATION_FAILED', 'cursor does not point at a schedule of this listing (deleted since?): list again without it', 'cursor');
    }
    query = query.where(sql<boolean>`(schedules.created_at, schedules.id) < (SELECT c.created_at, c.id FROM schedules c WHERE c.id = ${id})`);
  }
  const rows = await query.orderBy('schedules.created_at', 'desc').orderBy('schedules.id', 'desc').limit(filter.limit + 1).execute();
  const page = rows.slice(0, filter.limit);
  return { rows: page, nextCursor: rows.length > filter.limit ? encodeCursor(page[page.length - 1]!) : null };
}

/** Takes the schedule's row lock (firing waits or skips it meanwhile); undefined once deleted. */
export async function lockSchedule(trx: Transaction<Database>, id: string): Promise<ScheduleRow | undefined> {
  return trx.selectFrom('schedules').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

/** Suspends: no slot fires; returns whether it changed. */
export async function suspendSchedule(trx: Transaction<Database>, id: string): Promise<boolean> {
  const changed = await trx.updateTable('schedules').set({ suspended: true }).where('id', '=', id).where('suspended', '=', false).executeTakeFirst();
  return changed.numUpdatedRows > 0n;
}

/** Resumes at the first slot after the database's now: slots passed meanwhile are not runs. Returns whether it changed. */
export async function resumeSchedule(trx: Transaction<Database>, id: string, spec: CronSpec): Promise<boolean> {
  const row = await lockSchedule(trx, id);
  if (!row?.suspended) return false;
  const next = nextSlots(spec, await databaseNow(trx), 1)[0]!;
  await trx.updateTable('schedules').set({ suspended: false, next_run_at: next }).where('id', '=', id).execute();
  return true;
}

/** Removes a schedule and its run history; its tasks stay (with their schedule_id), running ones are not stopped. */
export async function deleteSchedule(trx: Transaction<Database>, id: string): Promise<void> {
  await trx.deleteFrom('schedules').where('id', '=', id).execute();
}

/**
 * Keeps the newest HISTORY_LIMIT runs of each of these schedules; open runs (running, retrying)
 * are never pruned. Off the firing path: the engine prunes what it fired every few seconds.
 */
export async function pruneRuns(db: Kysely<Database>, scheduleIds: string[]): Promise<void> {
  if (scheduleIds.length === 0) return;
  await db
    .deleteFrom('schedule_runs')
    .where('schedule_id', 'in', scheduleIds)
    .where('outcome', 'not in', ['running', 'retrying'])
    .where('scheduled_for', '<', (eb) =>
      eb
        .selectFrom('schedule_runs as newer')
        .select('newer.scheduled_for')
        .whereRef('newer.schedule_id', '=', 'schedule_runs.schedule_id')
        .orderBy('newer.scheduled_for', 'desc')
        .offset(HISTORY_LIMIT - 1)
        .limit(1),
    )
    .execute();
}
