import { UsageError } from './errors.js';

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
