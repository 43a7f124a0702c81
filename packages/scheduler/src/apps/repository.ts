import type { App, CreateAppRequest, Project, Release, UpdateAppRequest } from '@tapit/protocol';
import { DEFAULT_TASK_RESOURCES } from '@tapit/protocol';
import { sql, type Kysely } from 'kysely';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import type { AppRow, Database } from '../db/schema.js';
import { isUniqueViolation } from '../db/errors.js';
import { inTransaction } from '../db/transaction.js';
import { DomainError, notFound } from '../domain/domain-error.js';

export interface AppPath {
  project: string;
  stage: string;
  app: string;
}

export async function listProjects(db: Kysely<Database>, only?: string | null): Promise<Project[]> {
  let query = db.selectFrom('projects').selectAll().orderBy('name');
  if (only) query = query.where('name', '=', only);
  const projects = await query.execute();
  const stages = await db.selectFrom('stages').select(['project', 'name']).orderBy('name').execute();
  return projects.map((p) => ({
    name: p.name,
    stages: stages.filter((s) => s.project === p.name).map((s) => s.name),
    createdAt: p.created_at.toISOString(),
  }));
}

export async function createProject(db: Kysely<Database>, name: string): Promise<Project> {
  try {
    await inTransaction(db, async (trx) => {
      await trx.insertInto('projects').values({ name }).execute();
      await trx.insertInto('stages').values({ project: name, name: 'default' }).execute();
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new DomainError('CONFLICT', `project "${name}" already exists`, 'name');
    throw error;
  }
  return (await listProjects(db, name))[0];
}

export async function createStage(db: Kysely<Database>, project: string, name: string): Promise<Project> {
  await requireProject(db, project);
  try {
    await db.insertInto('stages').values({ project, name }).execute();
  } catch (error) {
    if (isUniqueViolation(error)) throw new DomainError('CONFLICT', `stage "${name}" already exists in project "${project}"`, 'name');
    throw error;
  }
  return (await listProjects(db, project))[0];
}

async function requireProject(db: Kysely<Database>, project: string): Promise<void> {
  const found = await db.selectFrom('projects').select('name').where('name', '=', project).executeTakeFirst();
  if (!found) throw notFound(`project "${project}"`, 'project');
}

async function requireStage(db: Kysely<Database>, project: string, stage: string): Promise<void> {
  await requireProject(db, project);
  const found = await db
    .selectFrom('stages')
    .select('name')
    .where('project', '=', project)
    .where('name', '=', stage)
    .executeTakeFirst();
  if (!found) throw notFound(`stage "${stage}" of project "${project}"`, 'stage');
}

export function toApp(row: AppRow): App {
  return {
    project: row.project,
    stage: row.stage,
    name: row.name,
    image: row.image,
    defaults: { cpu: row.default_cpu, memoryGb: row.default_memory_gb, maxHours: row.default_max_hours },
    readOnly: row.read_only,
    activeRelease: row.active_release,
    recordInput: row.record_input,
    constraints: row.constraints,
    logRetentionDays: row.log_retention_days,
    pullPolicy: row.pull_policy,
    createdAt: row.created_at.toISOString(),
  };
}

/** Creates the app with release 1 = its image, active, so tasks can run at once. */
export async function createApp(db: Kysely<Database>, project: string, stage: string, body: CreateAppRequest): Promise<App> {
  await requireStage(db, project, stage);
  try {
    const row = await inTransaction(db, async (trx) => {
      const app = await trx
        .insertInto('apps')
        .values({
          project,
          stage,
          name: body.name,
          image: body.image,
          default_cpu: body.cpu ?? DEFAULT_TASK_RESOURCES.cpu,
          default_memory_gb: body.memoryGb ?? DEFAULT_TASK_RESOURCES.memoryGb,
          default_max_hours: body.maxHours ?? DEFAULT_TASK_RESOURCES.maxHours,
          read_only: body.readOnly ?? false,
          active_release: 1,
          record_input: body.recordInput ?? false,
          constraints: JSON.stringify(body.constraints ?? {}),
          log_retention_days: body.logRetentionDays ?? null,
          pull_policy: body.pullPolicy ?? 'missing',
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await trx.insertInto('releases').values({ app_id: app.id, number: 1, image: body.image }).execute();
      return app;
    });
    return toApp(row);
  } catch (error) {
    if (isUniqueViolation(error)) {
      throw new DomainError('CONFLICT', `app "${body.name}" already exists in ${project}/${stage}`, 'name');
    }
    throw error;
  }
}

export async function listApps(db: Kysely<Database>, project: string, stage: string): Promise<App[]> {
  await requireStage(db, project, stage);
  const rows = await db
    .selectFrom('apps')
    .selectAll()
    .where('project', '=', project)
    .where('stage', '=', stage)
    .orderBy('name')
    .execute();
  return rows.map(toApp);
}

export async function findApp(db: Kysely<Database>, path: AppPath): Promise<AppRow> {
  const row = await db
    .selectFrom('apps')
    .selectAll()
    .where('project', '=', path.project)
    .where('stage', '=', path.stage)
    .where('name', '=', path.app)
    .executeTakeFirst();
  if (!row) throw notFound(`app "${path.app}" in ${path.project}/${path.stage}`, 'app');
  return row;
}

/**
 * The apps at several paths in one query (a batch of creates), keyed by `appPathKey`, a missing
 * one absent; each with those of its releases a task may ask for: its active one and `numbers`,
 * and the database's time of the read (`read_at`: the batch's tasks are born then, on the
 * database's clock whichever replica creates them).
 */
export async function findAppsWithReleases(db: Kysely<Database>, paths: readonly AppPath[], numbers: readonly number[]): Promise<Map<string, AppRow & { releases: { number: number; image: string }[]; read_at: Date }>> {
  if (paths.length === 0) return new Map();
  const rows = await db
    .selectFrom('apps')
    .selectAll('apps')
    .select((eb) =>
      jsonArrayFrom(
        eb
          .selectFrom('releases')
          .select(['releases.number', 'releases.image'])
          .whereRef('releases.app_id', '=', 'apps.id')
          .where((r) => r.or([r('releases.number', '=', r.ref('apps.active_release')), ...(numbers.length > 0 ? [r('releases.number', 'in', [...new Set(numbers)])] : [])])),
      ).as('releases'),
    )
    .select(sql<Date>`statement_timestamp()`.as('read_at'))
    .where((eb) => eb.or(paths.map((p) => eb.and([eb('apps.project', '=', p.project), eb('apps.stage', '=', p.stage), eb('apps.name', '=', p.app)]))))
    .execute();
  return new Map(rows.map((row) => [appPathKey({ project: row.project, stage: row.stage, app: row.name }), row]));
}

export const appPathKey = (path: AppPath) => `${path.project}/${path.stage}/${path.app}`;

export async function listReleases(db: Kysely<Database>, app: AppRow): Promise<Release[]> {
  const rows = await db.selectFrom('releases').selectAll().where('app_id', '=', app.id).orderBy('number', 'desc').execute();
  return rows.map((r) => ({
    number: r.number,
    image: r.image,
    active: r.number === app.active_release,
    createdAt: r.created_at.toISOString(),
  }));
}

export async function findRelease(db: Kysely<Database>, app: AppRow, number: number): Promise<{ number: number; image: string }> {
  const row = await db
    .selectFrom('releases')
    .select(['number', 'image'])
    .where('app_id', '=', app.id)
    .where('number', '=', number)
    .executeTakeFirst();
  if (!row) throw releaseNotFound(app, number);
  return row;
}

/** What `findRelease` throws for a release an app does not have. */
export const releaseNotFound = (app: AppRow, number: number) => new DomainError('NOT_FOUND', `release ${number} of app "${app.name}" not found`, 'release');

/** Adds the next release and makes it the active one, atomically (the app row is locked). */
export async function createRelease(db: Kysely<Database>, app: AppRow, image: string): Promise<Release> {
  return inTransaction(db, async (trx) => {
    const locked = await trx.selectFrom('apps').select('id').where('id', '=', app.id).forUpdate().executeTakeFirstOrThrow();
    const last = await trx
      .selectFrom('releases')
      .select((eb) => eb.fn.max('number').as('max'))
      .where('app_id', '=', locked.id)
      .executeTakeFirst();
    const number = Number(last?.max ?? 0) + 1;
    const row = await trx.insertInto('releases').values({ app_id: app.id, number, image }).returningAll().executeTakeFirstOrThrow();
    await trx.updateTable('apps').set({ active_release: number }).where('id', '=', app.id).execute();
    return { number, image: row.image, active: true, createdAt: row.created_at.toISOString() };
  });
}

/** `tapit update app`: replaces what is given (the labels its tasks require, its log retention, its pull policy). */
export async function updateApp(db: Kysely<Database>, app: AppRow, body: UpdateAppRequest): Promise<App> {
  const row = await db
    .updateTable('apps')
    .set({
      ...(body.constraints !== undefined ? { constraints: JSON.stringify(body.constraints) } : {}),
      ...(body.logRetentionDays !== undefined ? { log_retention_days: body.logRetentionDays } : {}),
      ...(body.pullPolicy !== undefined ? { pull_policy: body.pullPolicy } : {}),
    })
    .where('id', '=', app.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  return toApp(row);
}
