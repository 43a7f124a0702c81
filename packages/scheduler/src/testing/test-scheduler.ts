import { SchedulerConfig } from '../config.js';
import { startScheduler, type RunningScheduler } from '../server.js';
import type { TestDatabase } from './test-database.js';
import { ADMIN_TOKEN } from './test-app.js';

export const JOIN_TOKEN = 'test-join-token-0123456789';

/** A whole scheduler in this process on a random port, on the given test database. */
export async function startTestScheduler(
  database: TestDatabase,
  env: Record<string, string> = {},
  log: (line: string) => void = () => {},
): Promise<RunningScheduler & { call: (method: string, path: string, body?: unknown) => Promise<any> }> {
  const config = SchedulerConfig.parse({
    TAPIT_DATABASE_URL: database.url,
    TAPIT_DATA_DIR: database.dataDir ?? '/nonexistent',
    TAPIT_PORT: '0',
    TAPIT_BOOTSTRAP_TOKEN: ADMIN_TOKEN,
    TAPIT_AGENT_JOIN_TOKEN: JOIN_TOKEN,
    TAPIT_POLL_INTERVAL_MS: '100',
    ...env,
  });
  const scheduler = await startScheduler(config, log);
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${scheduler.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };
  return { ...scheduler, call };
}
