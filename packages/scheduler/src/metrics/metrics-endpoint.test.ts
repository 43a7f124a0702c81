import type { Kysely } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { AuthFailures } from '../auth/auth-failures.js';
import type { Database } from '../db/schema.js';
import { metricsEndpoint } from './metrics-endpoint.js';
import { SchedulerMetrics } from './scheduler-metrics.js';

describe('GET /metrics with a token', () => {
  const lines: string[] = [];
  const failures = new AuthFailures({ perMinute: 3, log: (line) => lines.push(line) });
  afterEach(() => failures.close());

  it('counts wrong tokens as failed logins of their address and answers 429 once its budget is spent', async () => {
    // Refused before any scrape: the database is never read.
    const metrics = new SchedulerMetrics({ db: {} as Kysely<Database>, dbKind: 'embedded', agentsConnected: () => 0, taskCountsCacheMs: 0 });
    const endpoint = metricsEndpoint(metrics, 'right-token', failures);
    const from = (address: string) => ({ incoming: { socket: { remoteAddress: address } } });
    const ask = (token: string, address = '192.0.2.7') => endpoint(new Request('http://scheduler/metrics', { headers: { authorization: `Bearer ${token}` } }), from(address));
    for (let i = 0; i < 3; i++) expect((await ask(`guess-${i}`)).status).toBe(401);
    const limited = await ask('right-token');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(lines.join('\n')).toContain('invalid token on the metrics endpoint');
    expect(lines.join('\n')).not.toContain('guess-');
    // Another address is not slowed by this one's guesses.
    expect((await ask('wrong', '192.0.2.8')).status).toBe(401);
  });
});
