import { AppList } from '@tapit/protocol';
import { ApiError, type ApiClient } from './api-client.js';
import { stagePath, type AppScope } from './context.js';

/**
 * A 404 for the app itself (its `field` is `app`; a missing release of an app that exists is not
 * one) usually means a misspelt or missing app: say which apps the stage does have, so the one
 * line names what is allowed too. Any failure here keeps the original error.
 */
export async function withAppHint(error: unknown, client: ApiClient, scope: AppScope): Promise<unknown> {
  if (!(error instanceof ApiError) || error.code !== 'NOT_FOUND' || error.field !== 'app') return error;
  try {
    const { items } = await client.get(`${stagePath(scope)}/apps`, AppList);
    const where = `${scope.project}/${scope.stage}`;
    const hint = items.length === 0 ? `no apps in ${where} yet (tapit create app NAME image=IMAGE)` : `apps in ${where}: ${items.map((a) => a.name).join(', ')}`;
    return new ApiError(`${error.message}; ${hint}`, error.status, error.code, error.field);
  } catch {
    return error;
  }
}
