import { Hono } from 'hono';
import type { Kysely } from 'kysely';
import type { Counter } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createTestDatabase, unreachableDatabase } from '../testing/test-database.js';
import type { Database } from '../db/schema.js';
import { SchedulerMetrics } from './scheduler-metrics.js';

describe('the HTTP metrics', () => {
  it('label a request with its route pattern, nested routers included, and a path no route serves as unmatched', async () => {
    // No scrape here: the database is never read.
    const metrics = new SchedulerMetrics({ db: {} as Kysely<Database>, dbKind: 'embedded', agentsConnected: () => 0, taskCountsCacheMs: 0 });
    const app = new Hono();
    app.use(metrics.httpMiddleware);
    const v1 = new Hono();
    v1.use(async (_c, next) => next());
    v1.get('/tasks/:id', (c) => c.json({ id: c.req.param('id') }));
    v1.post('/tasks/:id/stop', (c) => c.json({ error: 'no' }, 409));
    app.route('/v1', v1);
    await app.request('/v1/tasks/0123abcd');
    await app.request('/v1/tasks/4567ef01');
    await app.request('/v1/tasks/0123abcd/stop', { method: 'POST' });
    await app.request(`/v1/${'x'.repeat(40)}`);
    const counter = metrics.registry.getSingleMetric('tapit_http_requests_total') as Counter;
    const values = (await counter.get()).values.map(({ labels, value }) => ({ ...labels, value }));
    expect(values).toEqual([
      { method: 'GET', route: '/v1/tasks/:id', code: '200', value: 2 },
      { method: 'POST', route: '/v1/tasks/:id/stop', code: '409', value: 1 },
      { method: 'GET', route: 'unmatched', code: '404', value: 1 },
    ]);
  });
});

describe('a scrape while the database does not answer', () => {
  it('still answers, with the last task counts marked stale, and fresh ones once the database is back', async () => {
    const database = await createTestDatabase('postgres');
    const gone = await unreachableDatabase();
    // The options are read at each scrape: the test swaps the database under it.
    const options = { db: database.db, dbKind: 'postgres' as const, agentsConnected: () => 3, taskCountsCacheMs: 0 };
    const metrics = new SchedulerMetrics(options);
    try {
      expect(await metrics.text()).toMatch(/^tapit_task_counts_fresh 1$/m);
      options.db = gone.db;
      const text = await metrics.text();
      expect(text).toMatch(/^tapit_task_counts_fresh 0$/m);
      expect(text).toMatch(/^tapit_agents_connected 3$/m);
      expect(text).toMatch(/^tapit_queue_depth 0$/m);
      options.db = database.db;
      expect(await metrics.text()).toMatch(/^tapit_task_counts_fresh 1$/m);
    } finally {
      await gone.close();
      await database.drop();
    }
  });
});
