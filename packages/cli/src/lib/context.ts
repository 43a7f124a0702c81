import { ApiClient } from './api-client.js';
import { configPath, readLogin } from './config.js';
import { UsageError } from './errors.js';
import { trustedCas } from './tls-trust.js';

/** Where a command acts: `-p/-s/-a` (or TAPIT_PROJECT/STAGE/APP); project and stage default to `default`. */
export interface Scope {
  project: string;
  stage: string;
  app?: string;
}

export interface AppScope extends Scope {
  app: string;
}

export function requireApp(scope: Scope, alternative = ''): AppScope {
  if (scope.app === undefined || scope.app === '') {
    throw new UsageError(`Missing app: give -a/--app APP or set TAPIT_APP${alternative} (tapit list apps shows them)`);
  }
  return { ...scope, app: scope.app };
}

/** C0 and C1 control characters and DEL, which the scheduler refuses in an initiator's name. */
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

/** TAPIT_INITIATED_BY: who is behind a shared token, in the audit trail of every change the CLI makes. */
export function initiatedByOf(env: NodeJS.ProcessEnv): string | undefined {
  const value = env.TAPIT_INITIATED_BY?.trim();
  if (!value) return undefined;
  if (CONTROL_CHARACTERS.test(value)) throw new UsageError('Invalid TAPIT_INITIATED_BY: must not contain control characters (escape sequences, tabs, line breaks)');
  return value;
}

/**
 * TAPIT_URL and TAPIT_TOKEN override the stored login, each on its own; TAPIT_CA_FILE adds a CA
 * for https; TAPIT_INITIATED_BY names who is behind the token.
 */
export async function connect(env: NodeJS.ProcessEnv = process.env): Promise<ApiClient> {
  const stored = env.TAPIT_URL && env.TAPIT_TOKEN ? null : await readLogin(configPath(env));
  const url = env.TAPIT_URL || stored?.url;
  const token = env.TAPIT_TOKEN || stored?.token;
  if (!url || !token) {
    throw new UsageError('Not logged in: run tapit login, or set TAPIT_URL and TAPIT_TOKEN');
  }
  return new ApiClient(url, token, { ca: trustedCas(env), initiatedBy: initiatedByOf(env) });
}

/** `/v1/projects/P/stages/S/apps/A` with each part escaped. */
export function appPath(scope: AppScope): string {
  return `${stagePath(scope)}/apps/${encodeURIComponent(scope.app)}`;
}

export function stagePath(scope: Scope): string {
  return `${projectPath(scope)}/stages/${encodeURIComponent(scope.stage)}`;
}

/** `/v1/projects/P` with P escaped. */
export function projectPath(scope: Pick<Scope, 'project'>): string {
  return `/v1/projects/${encodeURIComponent(scope.project)}`;
}
