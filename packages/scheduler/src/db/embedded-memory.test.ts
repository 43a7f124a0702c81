import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from './client.js';
import { collectStartGarbage, seedFromTemplate } from './embedded-memory.js';

// The template is made by `npm run build` (scripts/embedded-template.mjs), which runs before the tests.
describe('the embedded database on a small server', () => {
  const dirs: string[] = [];
  const freshDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'tapit-embedded-'));
    dirs.push(dir);
    // As claimDataDir makes it before seeding.
    mkdirSync(join(dir, 'data'), { mode: 0o700 });
    return join(dir, 'data');
  };
  afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  it('seeds an empty data folder from the build template (no initdb), and never a folder holding a database', async () => {
    const dataDir = freshDir();
    expect(seedFromTemplate(dataDir), 'dist/embedded-template is made by npm run build').toBe(true);
    const handle = await openDatabase({ dataDir });
    try {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_class`.execute(handle.db);
      expect(rows[0]!.n).toBeGreaterThan(100);
    } finally {
      await handle.close();
    }
    expect(readdirSync(dataDir)).toContain('PG_VERSION');
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(seedFromTemplate(dataDir)).toBe(false);
  });

  it('seeds again a folder whose copy was cut short (no PG_VERSION yet)', async () => {
    const dataDir = freshDir();
    expect(seedFromTemplate(dataDir)).toBe(true);
    unlinkSync(join(dataDir, 'PG_VERSION'));
    expect(seedFromTemplate(dataDir)).toBe(true);
    expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(true);
  });

  it('runs Postgres with buffers sized for one user', async () => {
    const handle = await openDatabase({ dataDir: freshDir() });
    try {
      const setting = async (name: string) => (await sql<{ v: string }>`select current_setting(${name}) as v`.execute(handle.db)).rows[0]!.v;
      expect(await setting('shared_buffers')).toBe('2MB');
      expect(await setting('maintenance_work_mem')).toBe('16MB');
      expect(await setting('wal_buffers')).toBe('1MB');
    } finally {
      await handle.close();
    }
  });
});

describe('embedded-heap.sh, the launcher of the quick start, the image and the systemd unit', () => {
  const launcher = fileURLToPath(new URL('../../bin/embedded-heap.sh', import.meta.url));
  const environmentUnder = (env: Record<string, string>) => {
    const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !['TAPIT_DATABASE_URL', 'MALLOC_ARENA_MAX', 'NODE_OPTIONS'].includes(name)));
    return spawnSync(launcher, ['sh', '-c', 'echo "$MALLOC_ARENA_MAX|$NODE_OPTIONS"'], { env: { ...base, ...env }, encoding: 'utf8' }).stdout.trim();
  };

  it('keeps malloc to two arenas and the young generation at 1 MB on the embedded database, unless told otherwise', () => {
    expect(environmentUnder({})).toBe('2|--max-semi-space-size=1');
    expect(environmentUnder({ MALLOC_ARENA_MAX: '4', NODE_OPTIONS: '--trace-gc' })).toBe('4|--max-semi-space-size=1 --trace-gc');
  });

  it('changes nothing on Postgres', () => {
    expect(environmentUnder({ TAPIT_DATABASE_URL: 'postgres://localhost/tapit' })).toBe('|');
  });
});

describe('collectStartGarbage', () => {
  it('runs a full collection: what nothing holds any more is gone', async () => {
    let garbage: object | undefined = { bytes: new Uint8Array(1024) };
    const ref = new WeakRef(garbage);
    garbage = undefined;
    // A WeakRef keeps its target until the current job ends.
    await new Promise((resolve) => setImmediate(resolve));
    collectStartGarbage();
    expect(ref.deref()).toBeUndefined();
  });
});
