import {
  ACTIVE_TASK_STATUSES,
  DEFAULT_INTERACTIVE_MAX_HOURS,
  CreateTaskRequest,
  MAX_LABELS,
  imageRefProblem,
  type TaskStatus,
} from '@tapit/protocol';
import type { z } from 'zod';
import { sql, type Kysely, type SelectQueryBuilder } from 'kysely';
import { inTransaction } from '../db/transaction.js';
import type { AppRow, Database } from '../db/schema.js';
import { newTaskId } from '../db/random-id.js';
import { decodeCursor, encodeCursor } from '../db/keyset-cursor.js';
import { findRelease } from '../apps/repository.js';
import { DomainError, notFound } from '../domain/domain-error.js';
import { isTaskReference, TASK_REFERENCE_RULE } from '../http/validate-references.js';
import { withTag } from './image-ref.js';
import { beginTasks, stopLines, transition, type NewTask } from './lifecycle.js';
import type { TaskWithApp } from './task-view.js';

type ParsedCreateTask = z.output<typeof CreateTaskRequest>;

/** Picks the image: image= wins; else the release (or the active one), re-tagged by docker_tag=. */
async function resolveImage(db: Kysely<Database>, app: AppRow, body: ParsedCreateTask, lookup: ReleaseLookup) {
  if (body.image) {
    return { release: null, image: body.dockerTag ? withTag(body.image, body.dockerTag) : body.image };
  }
  const number = body.release ?? app.active_release;
  if (number === null) throw new DomainError('CONFLICT', `app "${app.name}" has no release yet: create one first`, 'release');
  const release = await lookup(db, app, number);
  const image = body.dockerTag ? withTag(release.image, body.dockerTag) : release.image;
  // A release stored before references were checked may not be one Docker accepts.
  const problem = imageRefProblem(image);
  if (problem) {
    throw new DomainError('VALIDATION_FAILED', `the image of release ${release.number}, ${JSON.stringify(image.slice(0, 300))}, is not a valid image reference (${problem}); create a release with a valid image`, 'release');
  }
  return { release: release.number, image };
}

/** The labels a task's agent must carry: the app's, with the task's own added (or replacing the app's value). */
export function taskConstraints(app: AppRow, own: Record<string, string> | undefined): Record<string, string> {
  const constraints = { ...app.constraints, ...own };
  if (Object.keys(constraints).length > MAX_LABELS) {
    throw new DomainError('VALIDATION_FAILED', `constraints: the app's and the task's together must be at most ${MAX_LABELS} labels`, 'constraints');
  }
  return constraints;
}

/** The slot of a schedule a task runs, and which attempt at it (1 for the first). */
export interface ScheduleLink {
  scheduleId: string;
  scheduledFor: Date;
  attempt: number;
}

/** What a new task is asked to be, by whom, for which app (and schedule slot). */
export interface TaskRequest {
  app: AppRow;
  body: ParsedCreateTask;
  createdBy: string;
  link?: ScheduleLink;
}

/** Finds a release of an app; a firing batch passes one that reads each release once. */
export type ReleaseLookup = (db: Kysely<Database>, app: AppRow, number: number) => Promise<{ number: number; image: string }>;

/**
 * The row a new task will be stored as (not stored yet: `beginTasks` stores several at once), its
 * image resolved and its resources from the app's defaults. Throws a DomainError for what it asks
 * (no such release, an image Docker refuses, too many labels).
 */
export async function prepareTask(db: Kysely<Database>, request: TaskRequest, lookup: ReleaseLookup = findRelease): Promise<NewTask> {
  const { app, body, createdBy, link } = request;
  const interactive = body.kind === 'interactive';
  const constraints = taskConstraints(app, body.constraints);
  const { release, image } = await resolveImage(db, app, body, lookup);
  return {
    id: newTaskId(),
    app_id: app.id,
    release,
    image,
    image_digest: null,
    command: JSON.stringify(body.command !== undefined ? ['/bin/sh', '-c', body.command] : body.args),
    entrypoint: JSON.stringify(body.entrypoint ?? null),
    env: JSON.stringify({}),
    kind: body.kind,
    cpu: body.cpu ?? app.default_cpu,
    memory_gb: body.memoryGb ?? app.default_memory_gb,
    max_hours: body.maxHours ?? app.default_max_hours ?? (interactive ? DEFAULT_INTERACTIVE_MAX_HOURS : null),
    ephemeral_storage_gb: body.ephemeralStorageGb ?? null,
    initiated_by: body.initiatedBy ?? null,
    created_by: createdBy,
    stop_code: null,
    stop_reason: null,
    stopped_by: null,
    exit_code: null,
    agent_name: null,
    stop_sent_at: null,
    peak_memory_bytes: null,
    cpu_seconds: null,
    disk_bytes: null,
    started_at: null,
    finished_at: null,
    terminal_cols: interactive ? (body.terminal?.cols ?? null) : null,
    terminal_rows: interactive ? (body.terminal?.rows ?? null) : null,
    assigned_at: null,
    accepted_at: null,
    schedule_id: link?.scheduleId ?? null,
    scheduled_for: link?.scheduledFor ?? null,
    schedule_attempt: link?.attempt ?? null,
    // The app's required labels, with the task's own added (or replacing the app's value).
    constraints: JSON.stringify(constraints),
    keep_seconds: body.keepSeconds ?? null,
  };
}

function selectTasks(db: Kysely<Database>) {
  return db
    .selectFrom('tasks')
    .innerJoin('apps', 'apps.id', 'tasks.app_id')
    .selectAll('tasks')
    .select(['apps.project', 'apps.stage', 'apps.name as app_name']);
}

/** A task by full id or unique prefix, limited to one project when the token is. */
export async function findTask(db: Kysely<Database>, idOrPrefix: string, project: string | null): Promise<TaskWithApp> {
  // Never echoed: the reference may be anything a stranger sent.
  if (!isTaskReference(idOrPrefix)) throw new DomainError('VALIDATION_FAILED', `task: ${TASK_REFERENCE_RULE}`, 'task');
  let query = selectTasks(db);
  // A prefix as a range of the primary key (LIKE would scan the table under most collations).
  query =
    idOrPrefix.length === 32
      ? query.where('tasks.id', '=', idOrPrefix)
      : query.where('tasks.id', '>=', idOrPrefix.padEnd(32, '0')).where('tasks.id', '<=', idOrPrefix.padEnd(32, 'f'));
  if (project) query = query.where('apps.project', '=', project);
  const rows = await query.limit(2).execute();
  if (rows.length === 0) throw notFound(`task "${idOrPrefix}"`, 'task');
  if (rows.length > 1) throw new DomainError('AMBIGUOUS_ID', `task id prefix "${idOrPrefix}" matches more than one task: give more characters`, 'task');
  return rows[0];
}

/** Tasks by full id, with their apps (those that exist still); any project: the caller limits what it shows. */
export async function findTasksById(db: Kysely<Database>, ids: readonly string[]): Promise<TaskWithApp[]> {
  if (ids.length === 0) return [];
  return selectTasks(db).where('tasks.id', 'in', ids).execute();
}

export interface TaskFilter {
  project?: string;
  stage?: string;
  app?: string;
  status?: TaskStatus[];
  limit: number;
  cursor?: string;
}

/** Newest first, keyset-paginated on (created_at, id) so pages stay fast at any depth. */
export async function listTasks(db: Kysely<Database>, filter: TaskFilter): Promise<{ rows: TaskWithApp[]; nextCursor: string | null }> {
  let cursorId: string | undefined;
  if (filter.cursor) {
    // The cursor's task is looked up inside the listing's project only: another project's task
    // id answers as one that does not exist, so a cursor reveals nothing.
    cursorId = decodeCursor(filter.cursor);
    let cursorTask = db.selectFrom('tasks as c').innerJoin('apps as ca', 'ca.id', 'c.app_id').select('c.id').where('c.id', '=', cursorId);
    if (filter.project) cursorTask = cursorTask.where('ca.project', '=', filter.project);
    if (!(await cursorTask.executeTakeFirst())) {
      throw new DomainError('VALIDATION_FAILED', 'cursor does not point at a task of this listing (deleted since?): list again without it', 'cursor');
    }
  }
  const rows = await listTasksQuery(db, filter, cursorId).execute();
  const page = rows.slice(0, filter.limit);
  return { rows: page, nextCursor: rows.length > filter.limit ? encodeCursor(page[page.length - 1]) : null };
}

/**
 * The statement of one page of `listTasks` (one row more than the page, to know if another
 * follows); apart so that its plan can be tested. Every form is an ordered index scan that stops
 * after a page, whatever the planner guesses of the apps table (rarely analyzed, it is small):
 * - no scope: tasks_created_idx, or tasks_status_created_idx for one status;
 * - a scope (project, stage, app): each app of the scope reads its own newest page
 *   (tasks_app_created_idx, or tasks_app_status_created_idx for one status) and only those pages
 *   are sorted. Filtering a join on the app's columns instead let the planner, misjudging how many
 *   rows an app holds, read every match and sort it: a second for status=RUNNING at 1,000,000 rows.
 */
export function listTasksQuery(db: Kysely<Database>, filter: TaskFilter, cursorId?: string) {
  const limit = filter.limit + 1;
  const scoped = filter.project !== undefined || filter.stage !== undefined || filter.app !== undefined;
  if (!scoped) {
    return newestFirst(narrowed(selectTasks(db), filter, cursorId), limit);
  }
  let query = db
    .selectFrom('apps')
    .innerJoinLateral(
      (eb) => newestFirst(narrowed(eb.selectFrom('tasks').selectAll('tasks').whereRef('tasks.app_id', '=', 'apps.id'), filter, cursorId), limit).as('tasks'),
      (join) => join.onTrue(),
    )
    .selectAll('tasks')
    .select(['apps.project', 'apps.stage', 'apps.name as app_name']);
  if (filter.project) query = query.where('apps.project', '=', filter.project);
  if (filter.stage) query = query.where('apps.stage', '=', filter.stage);
  if (filter.app) query = query.where('apps.name', '=', filter.app);
  return newestFirst(query, limit);
}

/** The listing's status filter and cursor, on a query of `tasks`. */
function narrowed<QB extends SelectQueryBuilder<any, 'tasks', any>>(query: QB, filter: TaskFilter, cursorId: string | undefined): QB {
  let q = query;
  if (filter.status && filter.status.length > 0) q = q.where('tasks.status', 'in', filter.status) as QB;
  if (cursorId !== undefined) {
    // A row-value comparison against the cursor task's own (created_at, id): exact to the
    // microsecond, and an index range however deep the page.
    q = q.where(sql<boolean>`(tasks.created_at, tasks.id) < (SELECT c.created_at, c.id FROM tasks c WHERE c.id = ${cursorId})`) as QB;
  }
  return q;
}

function newestFirst<QB extends SelectQueryBuilder<any, 'tasks', any>>(query: QB, limit: number): QB {
  return query.orderBy('tasks.created_at', 'desc').orderBy('tasks.id', 'desc').limit(limit) as QB;
}

/**
 * Asks a task to stop. A task still waiting for an agent stops at once; one on an agent gets
 * desired status STOPPED, and the replica holding its agent sends the stop (with `reason`, which
 * the agent reports back as the stop reason). In the caller's transaction when given one.
 */
export async function requestStop(db: Kysely<Database>, taskId: string, by: string, reason: string | null = null): Promise<void> {
  await inTransaction(db, async (trx) => {
    const stoppedNow = await transition(trx, taskId, {
      from: ['PROVISIONING'],
      patch: { status: 'STOPPED', desired_status: 'STOPPED', stop_code: 'USER_STOPPED', stopped_by: by, stop_reason: reason, finished_at: new Date() },
      linesAfter: stopLines,
    });
    if (stoppedNow) return;
    await trx
      .selectFrom('tasks')
      .select('id')
      .where('id', '=', taskId)
      .where('desired_status', '=', 'RUNNING')
      .where('status', 'in', [...ACTIVE_TASK_STATUSES])
      .forUpdate()
      .executeTakeFirst()
      .then((found) =>
        found
          ? transition(trx, taskId, { patch: { desired_status: 'STOPPED', stopped_by: by, stop_reason: reason }, from: ACTIVE_TASK_STATUSES })
          : undefined,
      );
  });
}

/** Removes a finished task with its logs and events. */
export async function deleteTask(db: Kysely<Database>, task: TaskWithApp): Promise<void> {
  const deleted = await db.deleteFrom('tasks').where('id', '=', task.id).where('status', '=', 'STOPPED').executeTakeFirst();
  if (deleted.numDeletedRows === 0n) {
    throw new DomainError('CONFLICT', `task ${task.id} is ${task.status}: stop it and wait until it is STOPPED before deleting it`, 'task');
  }
}

/** A change of a task's status or desired status, as `task_events` records it. */
export interface TaskEvent {
  at: Date;
  status: string;
  desiredStatus: string;
  message: string | null;
}

/** Most events a task's page shows: a task has a handful; a restarted one a few more. */
export const TASK_EVENTS_SHOWN = 100;

/** A task's status changes, oldest first (the newest TASK_EVENTS_SHOWN). */
export async function listTaskEvents(db: Kysely<Database>, taskId: string): Promise<TaskEvent[]> {
  const rows = await db
    .selectFrom('task_events')
    .select(['status', 'desired_status', 'message', 'created_at'])
    .where('task_id', '=', taskId)
    .orderBy('id', 'desc')
    .limit(TASK_EVENTS_SHOWN)
    .execute();
  return rows.reverse().map((row) => ({ at: row.created_at, status: row.status, desiredStatus: row.desired_status, message: row.message }));
}
