import { z } from 'zod';
import { Timestamp } from '../common/ids.js';
import { TaskText } from '../common/text.js';

/** How a secret's value is shown wherever it would be (`list env`, a task's masked log), as GitHub Actions does. */
export const SECRET_MASK = '••••';

/** The rule an env var's name follows, said whenever one is refused. */
export const ENV_KEY_RULE = 'must be a POSIX environment variable name: a letter or _, then letters, digits or _, at most 255 characters (e.g. DATABASE_URL)';
/** Longest value of one env var, in characters (a certificate or a JSON credential fits). */
export const MAX_ENV_VALUE_CHARS = 32768;
/** Most env vars an app holds, and most a task or one request sets. */
export const MAX_APP_ENV_VARS = 200;
export const MAX_TASK_ENV_VARS = 100;

/** An env var's name: POSIX (`[A-Za-z_][A-Za-z0-9_]*`), so every shell and `env` can read it. */
export const EnvKey = z.string().max(255, ENV_KEY_RULE).regex(/^[A-Za-z_][A-Za-z0-9_]*$/, ENV_KEY_RULE);
export type EnvKey = z.infer<typeof EnvKey>;

/** An env var's value: text a container can carry (no NUL), at most MAX_ENV_VALUE_CHARS. */
export const EnvValue = TaskText.max(MAX_ENV_VALUE_CHARS, `must be at most ${MAX_ENV_VALUE_CHARS} characters`);

/** Each name of a set of vars checked: a refused one is named in the error (`vars: "1BAD" must be …`). */
function checkKeys(vars: Record<string, unknown>, ctx: z.RefinementCtx): void {
  for (const key of Object.keys(vars)) {
    if (!EnvKey.safeParse(key).success) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(key.slice(0, 100))} ${ENV_KEY_RULE}` });
  }
}

/**
 * A task's own env vars (`env=KEY=VALUE`, `-e KEY=VALUE`): they win over its app's. Treated as
 * secrets: sealed at rest, never shown back (only their names), masked in the task's log.
 */
export const TaskEnvOverrides = z
  .record(z.string(), EnvValue)
  .superRefine(checkKeys)
  .refine((vars) => Object.keys(vars).length <= MAX_TASK_ENV_VARS, `must hold at most ${MAX_TASK_ENV_VARS} variables`);
export type TaskEnvOverrides = z.infer<typeof TaskEnvOverrides>;

/**
 * `tapit set env KEY=VALUE… [--secret]` / `tapit unset env KEY…`: PATCH an app's env. A value
 * sets (or replaces) the var; null removes it. `secret` applies to every var set here: its value
 * is sealed at rest and never shown back, only its name, when and by whom it was set.
 */
export const UpdateEnvRequest = z
  .strictObject({
    vars: z
      .record(z.string(), EnvValue.nullable())
      .superRefine(checkKeys)
      .refine((vars) => Object.keys(vars).length >= 1, 'give at least one variable')
      .refine((vars) => Object.keys(vars).length <= MAX_APP_ENV_VARS, `must hold at most ${MAX_APP_ENV_VARS} variables`),
    secret: z.boolean({ error: 'must be true or false' }).optional(),
  });
export type UpdateEnvRequest = z.infer<typeof UpdateEnvRequest>;

/** One of an app's env vars as shown: a secret's value is never shown back (null). */
export const EnvVar = z.object({
  key: EnvKey,
  secret: z.boolean(),
  /** The value of a plain var; null for a secret. */
  value: z.string().nullable(),
  setAt: Timestamp,
  /** The API token that set it last. */
  setBy: z.string(),
});
export type EnvVar = z.infer<typeof EnvVar>;

export const EnvVarList = z.object({ items: z.array(EnvVar) });
export type EnvVarList = z.infer<typeof EnvVarList>;
