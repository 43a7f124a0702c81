import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The test Postgres that scripts/test-services.sh starts (a superuser, to create databases). */
export const TEST_ADMIN_URL = process.env.TAPIT_TEST_DATABASE_URL ?? 'postgres://tapit:tapit@127.0.0.1:55432/postgres';

export interface FreshDatabase {
  name: string;
  /** What a scheduler gets as TAPIT_DATABASE_URL. */
  url: string;
  /** Drops the database, even with connections still open. */
  drop(): Promise<void>;
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A fresh, empty Postgres database for one test file; the scheduler migrates it at its start. */
export async function createDatabase(): Promise<FreshDatabase> {
  const name = `tapit_e2e_${randomBytes(6).toString('hex')}`;
  await admin((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(TEST_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}
