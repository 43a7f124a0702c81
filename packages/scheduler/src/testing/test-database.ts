import { cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase, type DatabaseHandle, type DatabaseKind } from '../db/client.js';
import { migrateToLatest, schemaFingerprint } from '../db/migrate.js';

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

/**
 * A fresh database of its own: empty, or (`migrated`, the default) at the latest schema. Migrated
 * ones are copies of a template migrated once per schema (schemaFingerprint): Postgres copies a
 * template database's files (CREATE DATABASE … TEMPLATE), the embedded one a migrated data
 * folder: running every migration on every test's database took ~0.4 s of CPU each.
 */
export async function createTestDatabase(kind: DatabaseKind, options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const migrated = options.migrated !== false;
  if (kind === 'postgres') {
    const name = `tapit_test_${randomBytes(6).toString('hex')}`;
    const template = migrated ? await postgresTemplate() : undefined;
    await adminQuery(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ''}`);
    const url = databaseUrl(name);
    const handle = await openDatabase({ url, dataDir: '' });
    return {
      ...handle,
      url,
      async drop() {
        await handle.close();
        await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      },
    };
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'tapit-pglite-'));
  if (migrated) cpSync(await embeddedTemplate(), dataDir, { recursive: true });
  const handle = await openDatabase({ dataDir });
  return {
    ...handle,
    dataDir,
    async drop() {
      await handle.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function adminQuery(text: string): Promise<void> {
  const admin = new pg.Client({ connectionString: TEST_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(text);
  } finally {
    await admin.end();
  }
}

function databaseUrl(name: string): string {
  const url = new URL(TEST_ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

let postgresTemplateMade: Promise<string> | undefined;

/**
 * The migrated template on the test Postgres, made by the first test file that needs it (built
 * under a name of its own, then renamed: a file that loses the race drops its copy). Nobody
 * connects to it after, as CREATE DATABASE … TEMPLATE requires.
 */
function postgresTemplate(): Promise<string> {
  return (postgresTemplateMade ??= (async () => {
    const name = `tapit_template_${schemaFingerprint()}`;
    const admin = new pg.Client({ connectionString: TEST_ADMIN_URL });
    await admin.connect();
    try {
      if ((await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount) return name;
      const building = `${name}_${randomBytes(4).toString('hex')}`;
      await admin.query(`CREATE DATABASE ${building}`);
      const handle = await openDatabase({ url: databaseUrl(building), dataDir: '' });
      try {
        await migrateToLatest(handle.db);
      } finally {
        await handle.close();
      }
      try {
        await admin.query(`ALTER DATABASE ${building} RENAME TO ${name}`);
      } catch (error) {
        await admin.query(`DROP DATABASE IF EXISTS ${building} WITH (FORCE)`);
        if ((error as { code?: string }).code !== '42P04') throw error; // duplicate_database: another file made it
      }
      return name;
    } finally {
      await admin.end();
    }
  })());
}

let embeddedTemplateMade: Promise<string> | undefined;

/**
 * The migrated embedded data folder, in the temporary folder, made by the first test file that
 * needs it (built in a folder of its own, then renamed into place: a file that loses the race
 * removes its copy). Named by PGlite's version too: another version may not read its files.
 */
function embeddedTemplate(): Promise<string> {
  return (embeddedTemplateMade ??= (async () => {
    const pgliteVersion = (JSON.parse(readFileSync(join(dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite')), '..', 'package.json'), 'utf8')) as { version: string }).version;
    const dir = join(tmpdir(), `tapit-pglite-template-${pgliteVersion}-${schemaFingerprint()}`);
    if (existsSync(join(dir, 'PG_VERSION'))) return dir;
    const building = mkdtempSync(`${dir}-building-`);
    const handle = await openDatabase({ dataDir: building });
    try {
      await migrateToLatest(handle.db);
    } finally {
      await handle.close();
    }
    try {
      renameSync(building, dir);
    } catch (error) {
      rmSync(building, { recursive: true, force: true });
      if (!['EEXIST', 'ENOTEMPTY'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
    }
    return dir;
  })());
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
