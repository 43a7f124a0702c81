import type { TaskEnvOverrides } from '@tapit/protocol';
import type { Kysely } from 'kysely';
import type { Database, TaskRow } from '../db/schema.js';
import type { SecretBox } from '../secrets/secret-box.js';
import { appEnvContext } from './app-env.js';

/** What a task's own env vars are bound to: they open for this task only. */
export const taskEnvContext = (taskId: string) => `task-env:${taskId}`;

/** A task's environment as its agent gets it, and which names in it are secrets (masked in its log). */
export interface TaskEnv {
  env: Record<string, string>;
  secretKeys: string[];
}

/** The columns a task's own env vars are stored in: sealed as one, their names in the clear. */
export function sealTaskEnv(secrets: SecretBox, taskId: string, vars: TaskEnvOverrides | undefined): { env_sealed: string | null; env_keys: string } {
  const keys = Object.keys(vars ?? {});
  return { env_sealed: keys.length === 0 ? null : secrets.seal(JSON.stringify(vars), taskEnvContext(taskId)), env_keys: JSON.stringify(keys.sort()) };
}

/**
 * The environment of each task: its app's vars as they are now, with the task's own over them.
 * The task's own count as secrets (never shown back), as do its app's secrets. A task whose
 * secrets cannot be opened (a key the scheduler lacks, a damaged value) gets the reason instead,
 * naming the var, never a value.
 */
export async function taskEnvs(db: Kysely<Database>, secrets: SecretBox, rows: Pick<TaskRow, 'id' | 'app_id' | 'env_sealed'>[]): Promise<(TaskEnv | { failure: string })[]> {
  if (rows.length === 0) return [];
  const appIds = [...new Set(rows.map((row) => row.app_id))];
  const vars = await db.selectFrom('app_env_vars').select(['app_id', 'key', 'value', 'secret']).where('app_id', 'in', appIds).orderBy('key').execute();
  const byApp = new Map<number, typeof vars>();
  for (const v of vars) byApp.set(v.app_id, [...(byApp.get(v.app_id) ?? []), v]);
  return rows.map((row) => {
    const env: Record<string, string> = {};
    const secretKeys = new Set<string>();
    let name = '';
    try {
      for (const v of byApp.get(row.app_id) ?? []) {
        name = `its app's secret ${v.key}`;
        env[v.key] = v.secret ? secrets.open(v.value, appEnvContext(row.app_id, v.key)) : v.value;
        if (v.secret) secretKeys.add(v.key);
      }
      if (row.env_sealed !== null) {
        name = 'its own env vars';
        for (const [key, value] of Object.entries(JSON.parse(secrets.open(row.env_sealed, taskEnvContext(row.id))) as Record<string, string>)) {
          env[key] = value;
          secretKeys.add(key);
        }
      }
    } catch (error) {
      return { failure: `${name} cannot be read: ${(error as Error).message}` };
    }
    return { env, secretKeys: [...secretKeys].sort() };
  });
}
