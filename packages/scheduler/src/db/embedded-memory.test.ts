import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from './client.js';
import { seedFromTemplate } from './embedded-memory.js';

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
      expect(await setting('shared_buffers')).toBe('8MB');
      expect(await setting('maintenance_work_mem')).toBe('16MB');
      expect(await setting('wal_buffers')).toBe('1MB');
    } finally {
      await handle.close();
    }
  });
});
