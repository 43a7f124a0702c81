import { createApp } from '../app.js';
import { TokenWatch } from '../auth/token-watch.js';
import { ensureBootstrapToken } from '../auth/tokens.js';
import { DatabaseProbe } from '../db/health.js';
import { TaskSignals } from '../tasks/task-signals.js';
import { randomSecretBox } from './random-secret-box.js';
import type { SecretBox } from '../secrets/secret-box.js';
import type { TestDatabase } from './test-database.js';
import type { Log } from '../log.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

/** The HTTP app on a test database, and a `call` that sends JSON with a bearer token. */
export async function createTestApp(database: Pick<TestDatabase, 'db' | 'kind'>, options: { followKeepAliveMs?: number; log?: Log; bootstrap?: boolean; secrets?: SecretBox; taskFilesMaxBytes?: number } = {}) {
  const secrets = options.secrets ?? randomSecretBox();
  if (options.bootstrap !== false) await ensureBootstrapToken(database.db, ADMIN_TOKEN);
  const signals = new TaskSignals();
  const tokenWatch = new TokenWatch(database.db);
  const probe = new DatabaseProbe(database.db);
  const app = createApp(
    { db: database.db, dbKind: database.kind, signals, tokenWatch, version: 'test', checkDatabase: () => probe.check(), followPollMs: 50, followKeepAliveMs: options.followKeepAliveMs, secrets, taskFilesMaxBytes: options.taskFilesMaxBytes },
    options.log,
  );
  const call = async (method: string, path: string, body?: unknown, token: string | null = ADMIN_TOKEN, extraHeaders: Record<string, string> = {}) => {
    const headers: Record<string, string> = { ...extraHeaders };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await app.request(path, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await response.text();
    const retryAfter = response.headers.get('retry-after');
    let json: any = undefined;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = text;
    }
    return { status: response.status, body: json, text, retryAfter, headers: response.headers };
  };
  return { app, signals, tokenWatch, secrets, call };
}

export const APP_PATH = '/v1/projects/default/stages/default/apps';
