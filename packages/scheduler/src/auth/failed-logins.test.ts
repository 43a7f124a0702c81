import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN } from '../testing/test-app.js';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';
import { startTestScheduler } from '../testing/test-scheduler.js';
import { rawUpgrade } from '../testing/raw-upgrade.js';

/** A GET from a chosen loopback address (Linux answers on all of 127/8). */
function getFrom(url: string, path: string, token: string, localAddress: string) {
  return new Promise<{ status: number; retryAfter?: string; body: string }>((resolve, reject) => {
    const req = request(`${url}${path}`, { agent: false, localAddress, headers: { authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] as string | undefined, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('failed logins', () => {
  let database: TestDatabase;
  let scheduler: Awaited<ReturnType<typeof startTestScheduler>>;
  const logs: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('postgres', { migrated: false });
    scheduler = await startTestScheduler(database, { TAPIT_AUTH_FAILURES_PER_MINUTE: '10' }, (l) => logs.push(l));
  });
  afterAll(async () => {
    await scheduler.close();
    await database.drop();
  });

  it('are slowed per address on the API: 429 with Retry-After past the burst, whatever token comes next', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 15; i++) statuses.push((await getFrom(scheduler.url, '/v1/tasks', `guess-${i}-secret-secret`, '127.0.0.7')).status);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses.slice(10)).toEqual(Array(5).fill(429));
    const limited = await getFrom(scheduler.url, '/v1/tasks', ADMIN_TOKEN, '127.0.0.7');
    expect(limited.status).toBe(429);
    expect(Number(limited.retryAfter)).toBeGreaterThan(0);
    expect(JSON.parse(limited.body).error).toMatchObject({ code: 'RATE_LIMITED' });
    // Another address is not slowed.
    expect((await getFrom(scheduler.url, '/v1/tasks', ADMIN_TOKEN, '127.0.0.1')).status).toBe(200);
  });

  it('are slowed on the agent websocket and console upgrades too', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const path = i % 2 === 0 ? '/v1/agents/connect' : `/v1/tasks/${'ab'.repeat(16)}/console`;
      statuses.push((await rawUpgrade(scheduler.url, path, { authorization: `Bearer guess-${i}-secret-secret` }, { localAddress: '127.0.0.8' })).status);
    }
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses.slice(10)).toEqual([429, 429]);
    const limited = await rawUpgrade(scheduler.url, '/v1/agents/connect', {}, { localAddress: '127.0.0.8' });
    expect(limited.headers['retry-after']).toBeDefined();
  });

  it('are logged per address, once at once and then summed up, never with the secret', async () => {
    await scheduler.close();
    const lines = logs.filter((l) => l.includes('127.0.0.7') || l.includes('127.0.0.8'));
    expect(lines).toEqual([
      expect.stringMatching(/^authentication failed from 127\.0\.0\.7: invalid token on the API/),
      expect.stringMatching(/^authentication failed from 127\.0\.0\.8: invalid token on the agent websocket/),
      expect.stringMatching(/^from 127\.0\.0\.7 in the last 60 s: authentication failed 9 more times \(invalid token 9, missing token 0\); 6 requests refused with 429/),
      expect.stringMatching(/^from 127\.0\.0\.8 in the last 60 s: authentication failed 9 more times \(invalid token 9, missing token 0\); 3 requests refused with 429/),
    ]);
    expect(logs.join('\n')).not.toContain('secret');
    scheduler = await startTestScheduler(database);
  });
});
