import { appPath, type AppScope } from './context.js';
import { parseIdArg } from './id-arg.js';
import { schedulePath } from './schedule-arg.js';

/** Whose webhook a command addresses: a schedule's own, or an app's default. */
export interface WebhookTarget {
  path: string;
  /** `schedule 9c1b7e2a` or `app web in shop/default`, for messages. */
  what: string;
  kind: 'schedule' | 'app';
}

/**
 * `schedule=ID` (or a bare ID) names a schedule's own webhook; without it, the app's default
 * webhook of `-a` (which is then required).
 */
export function webhookTarget(args: readonly string[], app: () => AppScope): WebhookTarget {
  if (args.length > 0) {
    const id = parseIdArg(args, 'schedule');
    return { path: schedulePath(id, '/webhook'), what: `schedule ${id}`, kind: 'schedule' };
  }
  const scope = app();
  return { path: `${appPath(scope)}/webhook`, what: `app ${scope.app} in ${scope.project}/${scope.stage}`, kind: 'app' };
}
