import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { SecretKeyMissingError, type SecretBox } from '../secrets/secret-box.js';
import { appEnvContext } from './app-env.js';
import { taskEnvContext } from './task-env.js';

/**
 * After a key rotation: every stored secret a previous key sealed is sealed again with the
 * current one, so the previous key can be dropped from TAPIT_SECRET_KEY_PREVIOUS at the next
 * start. Each row is updated only if unchanged since read (replicas doing it at once, a var set
 * meanwhile). A key this replica lacks throws SecretKeyMissingError (the start is refused, naming
 * the key, as for registry passwords); a damaged value is left as it is and named, never fatal:
 * the tasks that need it fail to start saying why. Returns what it did, for the log (names, never values).
 */
export async function resealSecrets(db: Kysely<Database>, secrets: SecretBox): Promise<{ resealed: number; unreadable: string[] }> {
  let resealed = 0;
  const unreadable: string[] = [];
  const vars = await db.selectFrom('app_env_vars').select(['app_id', 'key', 'value']).where('secret', '=', true).execute();
  for (const v of vars.filter((row) => !secrets.isCurrent(row.value))) {
    const context = appEnvContext(v.app_id, v.key);
    try {
      const value = secrets.seal(secrets.open(v.value, context), context);
      const done = await db.updateTable('app_env_vars').set({ value }).where('app_id', '=', v.app_id).where('key', '=', v.key).where('value', '=', v.value).executeTakeFirst();
      resealed += Number(done.numUpdatedRows);
    } catch (error) {
      if (error instanceof SecretKeyMissingError) throw error;
      unreadable.push(`app ${v.app_id} secret ${v.key} (${(error as Error).message})`);
    }
  }
  const tasks = await db.selectFrom('tasks').select(['id', 'env_sealed']).where('env_sealed', 'is not', null).execute();
  for (const task of tasks.filter((row) => !secrets.isCurrent(row.env_sealed!))) {
    const context = taskEnvContext(task.id);
    try {
      const value = secrets.seal(secrets.open(task.env_sealed!, context), context);
      const done = await db.updateTable('tasks').set({ env_sealed: value }).where('id', '=', task.id).where('env_sealed', '=', task.env_sealed).executeTakeFirst();
      resealed += Number(done.numUpdatedRows);
    } catch (error) {
      if (error instanceof SecretKeyMissingError) throw error;
      unreadable.push(`task ${task.id} env vars (${(error as Error).message})`);
    }
  }
  return { resealed, unreadable };
}
