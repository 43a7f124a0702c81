import type { Kysely } from 'kysely';
import { imageRegistry, type PullAuth, type Registry } from '@tapit/protocol';
import type { Database } from '../db/schema.js';
import { notFound } from '../domain/domain-error.js';
import type { SecretBox } from '../secrets/secret-box.js';

/** What a sealed password is bound to: a sealed value copied to another project or host does not open. */
const passwordContext = (project: string, host: string) => `registry:${project}:${host}`;

function toRegistry(row: { project: string; host: string; username: string; updated_by: string | null; created_at: Date; updated_at: Date }): Registry {
  return { project: row.project, host: row.host, username: row.username, updatedBy: row.updated_by, createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString() };
}

const SHOWN = ['project', 'host', 'username', 'updated_by', 'created_at', 'updated_at'] as const;

/** Sets the project's credentials for `host` (lowercase), replacing any; says whether it replaced some. */
export async function setRegistry(
  db: Kysely<Database>,
  secrets: SecretBox,
  project: string,
  credentials: { host: string; username: string; password: string },
  by: string,
): Promise<{ registry: Registry; replaced: boolean }> {
  const found = await db.selectFrom('projects').select('name').where('name', '=', project).executeTakeFirst();
  if (!found) throw notFound(`project "${project}"`, 'project');
  const host = credentials.host.toLowerCase();
  const sealed = secrets.seal(credentials.password, passwordContext(project, host));
  const row = await db
    .insertInto('registries')
    .values({ project, host, username: credentials.username, password_sealed: sealed, updated_by: by })
    .onConflict((oc) => oc.columns(['project', 'host']).doUpdateSet({ username: credentials.username, password_sealed: sealed, updated_by: by, updated_at: new Date() }))
    // A row that was there keeps its created_at: replaced when it differs from updated_at's moment.
    .returning([...SHOWN])
    .executeTakeFirstOrThrow();
  return { registry: toRegistry(row), replaced: row.created_at.getTime() !== row.updated_at.getTime() };
}

export async function listRegistries(db: Kysely<Database>, project: string): Promise<Registry[]> {
  const rows = await db.selectFrom('registries').select([...SHOWN]).where('project', '=', project).orderBy('host').execute();
  return rows.map(toRegistry);
}

/** Deletes the project's credentials for `host`; NOT_FOUND when it had none. */
export async function deleteRegistry(db: Kysely<Database>, project: string, host: string): Promise<void> {
  const deleted = await db.deleteFrom('registries').where('project', '=', project).where('host', '=', host.toLowerCase()).executeTakeFirst();
  if (deleted.numDeletedRows === 0n) throw notFound(`registry "${host}" of project "${project}"`, 'host');
}

/** How a task's image is pulled: with its project's credentials, or why they do not open. */
export interface PullAccess {
  auth?: PullAuth;
  /** The credentials are sealed with a key this scheduler lacks, or damaged: the task cannot start. */
  failure?: string;
  /**
   * Some project holds credentials for the image's registry: the image is private there, so it is
   * pulled for every task (with the task's own project's credentials, or none), never taken from
   * the engine's cache, where another project's pull may have left it.
   */
  private: boolean;
}

/** The pull access of each task's image, by task id. Two queries for them all. */
export async function pullAuths(db: Kysely<Database>, secrets: SecretBox, tasks: { id: string; project: string; image: string }[]): Promise<Map<string, PullAccess>> {
  const wanted = tasks.map((task) => ({ ...task, host: imageRegistry(task.image) }));
  const out = new Map<string, PullAccess>();
  if (wanted.length === 0) return out;
  const hosts = [...new Set(wanted.map((w) => w.host))];
  const privateHosts = new Set((await db.selectFrom('registries').select('host').distinct().where('host', 'in', hosts).execute()).map((row) => row.host));
  const rows =
    privateHosts.size === 0
      ? []
      : await db
          .selectFrom('registries')
          .select(['project', 'host', 'username', 'password_sealed'])
          .where('project', 'in', [...new Set(wanted.map((w) => w.project))])
          .where('host', 'in', [...privateHosts])
          .execute();
  const byKey = new Map(rows.map((row) => [`${row.project}\n${row.host}`, row]));
  for (const task of wanted) {
    const access: PullAccess = { private: privateHosts.has(task.host) };
    const row = byKey.get(`${task.project}\n${task.host}`);
    if (row) {
      try {
        access.auth = { registry: row.host, username: row.username, password: secrets.open(row.password_sealed, passwordContext(row.project, row.host)) };
      } catch (error) {
        // One task's credentials not opening fails that task, never the others of the batch.
        access.failure = `the registry password of project ${row.project} for ${row.host} does not open: ${(error as Error).message}`;
      }
    }
    out.set(task.id, access);
  }
  return out;
}

/**
 * Seals again with the current key every password a previous key sealed (after a rotation), so
 * the previous key can be retired. Returns how many it sealed again.
 */
export async function resealRegistryPasswords(db: Kysely<Database>, secrets: SecretBox): Promise<number> {
  const rows = await db.selectFrom('registries').select(['project', 'host', 'password_sealed']).execute();
  let count = 0;
  for (const row of rows) {
    if (secrets.isCurrent(row.password_sealed)) continue;
    const context = passwordContext(row.project, row.host);
    const sealed = secrets.seal(secrets.open(row.password_sealed, context), context);
    // Only if nobody set new credentials meanwhile.
    const updated = await db
      .updateTable('registries')
      .set({ password_sealed: sealed })
      .where('project', '=', row.project)
      .where('host', '=', row.host)
      .where('password_sealed', '=', row.password_sealed)
      .executeTakeFirst();
    count += Number(updated.numUpdatedRows);
  }
  return count;
}
