import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect } from 'kysely';
import { claimDataDir } from './data-dir.js';
import { EMBEDDED_START_PARAMS, seedFromTemplate, useBaselineWasmCompiler } from './embedded-memory.js';
import { PGliteDialect } from './pglite-dialect.js';
import type { Database } from './schema.js';

export type DatabaseKind = 'postgres' | 'embedded';

export interface DatabaseHandle {
  db: Kysely<Database>;
  kind: DatabaseKind;
  /** The Postgres pool, for its counts in the metrics; none on the embedded database. */
  pool?: { totalCount: number; idleCount: number; waitingCount: number };
  close(): Promise<void>;
}

const INT8_OID = 20;
/** Longest wait for a connection (a new one, or a free one from the pool). */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Opens Postgres at `url`, or with no URL the embedded PGlite in `dataDir`. Both speak the same
 * SQL, so one set of migrations and one repository layer serve both.
 */
export async function openDatabase(options: {
  url?: string;
  dataDir: string;
  poolSize?: number;
  /** Told when a pooled connection breaks (the server restarted, the network dropped). */
  onConnectionError?: (error: Error) => void;
}): Promise<DatabaseHandle> {
  if (options.url) {
    // Loaded only here: the embedded scheduler never needs the Postgres driver (2–3 MB of heap).
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      // A server that does not answer fails the request (503) rather than holding it forever.
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      // Notices a server that vanished without closing the connection (a host gone, a split).
      keepAlive: true,
      // bigint columns hold byte counts and ids far below 2^53.
      types: { getTypeParser: (oid: number, format?: any) => (oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format)) } as any,
    });
    const onConnectionError = options.onConnectionError ?? (() => {});
    // pg emits 'error' on a client whose server went away (57P01 at a restart, a reset); with
    // no listener that is an uncaught exception. The pool listens only while a client is idle,
    // so every client gets a listener of its own for the time it is checked out: the query in
    // flight is rejected on its own, and the broken client is dropped when it is released.
    pool.on('connect', (client) => client.on('error', onConnectionError));
    pool.on('error', () => {}); // the same error on an idle client, already reported above
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, kind: 'postgres', pool, close: () => db.destroy() };
  }
  // 0700, locked to this process; PGlite's own files (written 0666) made 0600 once it is open.
  const dataDir = claimDataDir(options.dataDir);
  useBaselineWasmCompiler();
  let pglite: PGlite;
  try {
    seedFromTemplate(options.dataDir);
    pglite = await PGlite.create(options.dataDir, { parsers: { [INT8_OID]: Number }, startParams: EMBEDDED_START_PARAMS });
  } catch (error) {
    dataDir.release();
    throw error;
  }
  dataDir.tighten();
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
  return {
    db,
    kind: 'embedded',
    close: async () => {
      await db.destroy();
      dataDir.release();
    },
  };
}
