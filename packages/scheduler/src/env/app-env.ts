import { MAX_APP_ENV_VARS, type EnvVar, type UpdateEnvRequest } from '@tapit/protocol';
import { sql, type Kysely } from 'kysely';
import type { AppEnvVarRow, AppRow, Database } from '../db/schema.js';
import { DomainError } from '../domain/domain-error.js';
import type { SecretBox } from '../secrets/secret-box.js';

/** What a secret of an app's is bound to: its sealed value opens for this app and name only. */
export const appEnvContext = (appId: number, key: string) => `app-env:${appId}:${key}`;

/** An app's env vars as shown, by name: a secret's value never (null). */
export async function listEnv(db: Kysely<Database>, app: Pick<AppRow, 'id'>): Promise<EnvVar[]> {
  const rows = await db.selectFrom('app_env_vars').selectAll().where('app_id', '=', app.id).orderBy('key').execute();
  return rows.map(toEnvVar);
}

export function toEnvVar(row: AppEnvVarRow): EnvVar {
  return { key: row.key, secret: row.secret, value: row.secret ? null : row.value, setAt: row.set_at.toISOString(), setBy: row.set_by };
}

/**
 * Sets (a value) and removes (null) an app's env vars, in the caller's transaction; a secret's
 * value is sealed first. Removing a name the app lacks, or going past MAX_APP_ENV_VARS, changes
 * nothing and throws. Returns the names set and removed.
 */
export async function updateEnv(
  db: Kysely<Database>,
  secrets: SecretBox,
  app: Pick<AppRow, 'id'>,
  request: UpdateEnvRequest,
  setBy: string,
): Promise<{ set: string[]; unset: string[] }> {
  const entries = Object.entries(request.vars);
  const set = entries.filter((entry): entry is [string, string] => entry[1] !== null);
  const unset = entries.filter(([, value]) => value === null).map(([key]) => key);
  if (unset.length > 0) {
    const removed = await db.deleteFrom('app_env_vars').where('app_id', '=', app.id).where('key', 'in', unset).returning('key').execute();
    const missing = unset.filter((key) => !removed.some((row) => row.key === key));
    if (missing.length > 0) throw new DomainError('NOT_FOUND', `the app has no env var ${missing.join(', ')} (tapit list env shows its vars)`, 'vars');
  }
  if (set.length > 0) {
    const secret = request.secret === true;
    await db
      .insertInto('app_env_vars')
      .values(set.map(([key, value]) => ({ app_id: app.id, key, value: secret ? secrets.seal(value, appEnvContext(app.id, key)) : value, secret, set_by: setBy })))
      .onConflict((oc) => oc.columns(['app_id', 'key']).doUpdateSet({ value: (eb) => eb.ref('excluded.value'), secret: (eb) => eb.ref('excluded.secret'), set_at: sql`now()`, set_by: (eb) => eb.ref('excluded.set_by') }))
      .execute();
    const { count } = await db.selectFrom('app_env_vars').select((eb) => eb.fn.countAll<string>().as('count')).where('app_id', '=', app.id).executeTakeFirstOrThrow();
    if (Number(count) > MAX_APP_ENV_VARS) {
      throw new DomainError('VALIDATION_FAILED', `an app holds at most ${MAX_APP_ENV_VARS} env vars; this would make ${count} (unset some first)`, 'vars');
    }
  }
  return { set: set.map(([key]) => key), unset };
}
