import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase, type DatabaseHandle, type DatabaseKind } from '../db/client.js';
import { migrateToLatest } from '../db/migrate.js';

/** Every repository and API test runs against both. */
export const DATABASE_KINDS: DatabaseKind[] = ['postgres', 'embedded'];

/** The test Postgres that scripts/test-services.sh starts (a superuser, to create databases). */
export const TEST_ADMIN_URL = process.env.TAPIT_TEST_DATABASE_URL ?? 'postgres://tapit:tapit@127.0.0.1:55432/postgres';

export interface TestDatabase extends DatabaseHandle {
  /** For Postgres, the URL of this fresh database (for scheduler processes to share). */
  url?: string;
  dataDir?: string;
  drop(): Promise<void>;
}

/** A fresh, empty database of its own; `migrated` runs the migrations on it. */
export async function createTestDatabase(kind: DatabaseKind, options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  if (kind === 'postgres') {
    const name = `tapit_test_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: TEST_ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(TEST_ADMIN_URL);
    url.pathname = `/${name}`;
    const handle = await openDatabase({ url: url.toString(), dataDir: '' });
    if (options.migrated !== false) await migrateToLatest(handle.db);
    return {
      ...handle,
      url: url.toString(),
      async drop() {
        await handle.close();
        const again = new pg.Client({ connectionString: TEST_ADMIN_URL });
        await again.connect();
        await again.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await again.end();
      },
    };
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'tapit-pglite-'));
  const handle = await openDatabase({ dataDir });
  if (options.migrated !== false) await migrateToLatest(handle.db);
  return {
    ...handle,
    dataDir,
    async drop() {
      await handle.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A Postgres handle on a loopback port nothing listens on: every query fails at once as the
 * database being unreachable (ECONNREFUSED), as during an outage.
 */
export async function unreachableDatabase(): Promise<DatabaseHandle> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return openDatabase({ url: `postgres://tapit:tapit@127.0.0.1:${port}/gone`, dataDir: '' });
}
