import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnScheduler } from './testing/scheduler-process.js';
import { ADMIN_TOKEN, APP_PATH } from './testing/test-app.js';

// What an idle scheduler on its embedded database holds is a small server's budget
// (docs/benchmarks.md, "bench/memory"): packages it does not use are loaded when first used.
describe('an embedded scheduler that has only started and served', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tapit-footprint-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has not loaded the Postgres driver, the cron parser or the metrics client', async () => {
    // Preloaded into the scheduler: at its exit, every CommonJS module it loaded (the packages above are CommonJS).
    const preload = join(dir, 'loaded-modules.cjs');
    const loaded = join(dir, 'loaded.json');
    writeFileSync(preload, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(loaded)}, JSON.stringify(Object.keys(require.cache))));\n`);
    const scheduler = await spawnScheduler({ TAPIT_DATA_DIR: join(dir, 'data'), TAPIT_BOOTSTRAP_TOKEN: ADMIN_TOKEN, NODE_OPTIONS: `--require ${preload}` });
    const headers = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
    expect((await fetch(`${scheduler.url}${APP_PATH}`, { method: 'POST', headers, body: JSON.stringify({ name: 'web', image: 'web:1' }) })).status).toBe(201);
    expect((await fetch(`${scheduler.url}${APP_PATH}/web/tasks`, { method: 'POST', headers, body: JSON.stringify({ command: 'true' }) })).status).toBe(201);
    await scheduler.stop();
    expect(scheduler.child.exitCode).toBe(0);
    const packages = new Set((JSON.parse(readFileSync(loaded, 'utf8')) as string[]).map((path) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path)?.[1]));
    expect(packages.has('ws'), 'the preload sees the packages the scheduler loads').toBe(true);
    for (const unused of ['pg', 'pg-pool', 'cron-parser', 'luxon', 'prom-client']) expect(packages.has(unused), unused).toBe(false);
  });
});
