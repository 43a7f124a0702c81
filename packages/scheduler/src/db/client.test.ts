import { PGlite } from '@electric-sql/pglite';
import { Kysely, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, TEST_ADMIN_URL, unreachableDatabase, type TestDatabase } from '../testing/test-database.js';
import { openDatabase } from './client.js';
import { isDatabaseUnavailable, describeDatabaseError } from './errors.js';
import { DatabaseProbe } from './health.js';
import { PGliteDialect } from './pglite-dialect.js';
import type { Database } from './schema.js';

describe('a Postgres server that goes away', () => {
  let database: TestDatabase;
  let admin: pg.Client;
  const errors: Error[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('postgres', { migrated: false });
    admin = new pg.Client({ connectionString: TEST_ADMIN_URL });
    await admin.connect();
  });
  afterAll(async () => {
    await admin.end();
    await database.drop();
  });

  it('ends the work of a checked-out connection with an error, not the process', async () => {
    const handle = await openDatabase({ url: database.url, dataDir: '', onConnectionError: (error) => errors.push(error) });
    try {
      const work = handle.db.transaction().execute(async (trx) => {
        const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
        // The server ends this backend (as a restart does: 57P01) while the client is checked
        // out and idle between two statements: pg emits 'error' on the client itself.
        await admin.query('select pg_terminate_backend($1)', [rows[0]!.pid]);
        await new Promise((resolve) => setTimeout(resolve, 300));
        await sql`select 1`.execute(trx);
      });
      const failure = await work.then(() => undefined, (error: unknown) => error);
      expect(isDatabaseUnavailable(failure), String(failure)).toBe(true);
      expect(errors.some((e) => isDatabaseUnavailable(e))).toBe(true);
      // The broken connection was dropped; the next query gets a fresh one.
      expect((await sql<{ one: number }>`select 1 as one`.execute(handle.db)).rows).toEqual([{ one: 1 }]);
    } finally {
      await handle.close();
    }
  });

  it('tells a refused connection from a bad query', async () => {
    const refused = await unreachableDatabase();
    const failure = await sql`select 1`.execute(refused.db).then(() => undefined, (error: unknown) => error);
    await refused.close();
    expect(isDatabaseUnavailable(failure)).toBe(true);
    expect(describeDatabaseError(failure)).toContain('ECONNREFUSED');
    const bad = await sql`select nothing_here`.execute(database.db).then(() => undefined, (error: unknown) => error);
    expect(isDatabaseUnavailable(bad)).toBe(false);
  });

  it('probes: null while the database answers, the reason when it does not', async () => {
    expect(await new DatabaseProbe(database.db).check()).toBeNull();
    const refused = await unreachableDatabase();
    expect(await new DatabaseProbe(refused.db).check()).toContain('ECONNREFUSED');
    await refused.close();
  });
});

describe('the embedded database, closed under the scheduler', () => {
  it('fails queries as unavailable, and the probe says so', async () => {
    const pglite = await PGlite.create();
    const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
    expect(await new DatabaseProbe(db).check()).toBeNull();
    await pglite.close();
    const failure = await sql`select 1`.execute(db).then(() => undefined, (error: unknown) => error);
    expect(isDatabaseUnavailable(failure), String(failure)).toBe(true);
    expect(await new DatabaseProbe(db).check()).toBe('PGlite is closed');
  }, 60_000);
});
