import { AdminTokenNameError, createAdminToken, defaultAdminTokenName } from './auth/create-admin-token.js';
import { ConfigError, loadConfig, type SchedulerConfig } from './config.js';
import { openDatabase } from './db/client.js';
import { SecretKeyError } from './secrets/secret-keys.js';
import { DataDirError } from './db/data-dir.js';
import { collectStartGarbage } from './db/embedded-memory.js';
import { coerceError } from './db/errors.js';
import { migrateToLatest } from './db/migrate.js';
import { buildOpenApi } from './http/openapi.js';
import { startScheduler } from './server.js';
import { createLog } from './log.js';
import { SCHEDULER_VERSION } from './version.js';

const USAGE = `Usage: tapit-scheduler [serve | migrate | create-admin-token [NAME] | openapi | --version | --help]

  serve                      (default) run the HTTP API and the agent websocket
  migrate                    bring the database schema up to date and exit
  create-admin-token [NAME]  print a new admin token for all projects and exit: the way back in
                             when every admin token is lost or revoked (on the embedded
                             database, stop the scheduler first)
  openapi                    print the API's OpenAPI 3.1 document (as GET /v1/openapi.json
                             answers) and exit: no database, no token (docs/api.md, clients)

Configuration (environment): TAPIT_DATABASE_URL (unset: embedded database in TAPIT_DATA_DIR),
TAPIT_HOST (127.0.0.1), TAPIT_PORT (7700), TAPIT_BOOTSTRAP_TOKEN, TAPIT_AGENT_JOIN_TOKEN,
TAPIT_LOG_FORMAT (json | pretty; default pretty on a terminal, else json), TAPIT_LOG_LEVEL (info),
TAPIT_METRICS_TOKEN / TAPIT_METRICS_LISTEN (Prometheus GET /metrics: off unless one is set).`;

export async function main(argv: string[]): Promise<void> {
  const command = argv[0] ?? 'serve';
  if (command === '--help' || command === '-h') return void process.stdout.write(`${USAGE}\n`);
  if (command === '--version') return void process.stdout.write(`${SCHEDULER_VERSION}\n`);
  if (command === 'openapi') return void process.stdout.write(`${JSON.stringify(buildOpenApi(SCHEDULER_VERSION), null, 2)}\n`);
  if (command !== 'serve' && command !== 'migrate' && command !== 'create-admin-token') {
    process.stderr.write(`Unknown command "${command}".\n${USAGE}\n`);
    process.exit(2);
  }
  // Whatever the scheduler writes (the embedded database's folders) is its user's alone.
  process.umask(0o077);
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`tapit-scheduler: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const log = createLog({ format: config.TAPIT_LOG_FORMAT, level: config.TAPIT_LOG_LEVEL });
  try {
    if (command === 'create-admin-token') return await printAdminToken(config, argv[1] ?? defaultAdminTokenName());
    if (command === 'migrate') {
      const database = await openDatabase({ url: config.TAPIT_DATABASE_URL, dataDir: config.TAPIT_DATA_DIR });
      const applied = await migrateToLatest(database.db);
      await database.close();
      log(applied.length > 0 ? `migrations applied: ${applied.join(', ')}` : 'database schema is up to date');
      return;
    }
    const scheduler = await startScheduler(config, log);
    const where = config.TAPIT_DATABASE_URL ? 'Postgres' : `embedded database in ${config.TAPIT_DATA_DIR}`;
    log(`tapit-scheduler ${SCHEDULER_VERSION} listening on ${scheduler.url} (${where})`);
    // On a small server the embedded scheduler's idle memory is the budget (docs/benchmarks.md).
    if (!config.TAPIT_DATABASE_URL) collectStartGarbage();
    let closing = false;
    const shutdown = (signal: string) => {
      if (closing) return;
      closing = true;
      log(`${signal}: shutting down`);
      scheduler.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGINT', () => shutdown('SIGINT'));
  } catch (error) {
    // A folder or name the user must fix: one line, exit code 2.
    if (error instanceof DataDirError || error instanceof AdminTokenNameError || error instanceof SecretKeyError) {
      process.stderr.write(`tapit-scheduler: ${error.message}\n`);
      process.exit(2);
    }
    log(`tapit-scheduler could not start: ${coerceError(error).message}`, 'error');
    process.exit(1);
  }
}

/** The secret alone on stdout (for scripts), what it is on stderr. */
async function printAdminToken(config: SchedulerConfig, name: string): Promise<void> {
  const database = await openDatabase({ url: config.TAPIT_DATABASE_URL, dataDir: config.TAPIT_DATA_DIR });
  try {
    await migrateToLatest(database.db);
    const secret = await createAdminToken(database.db, name);
    process.stdout.write(`${secret}\n`);
    process.stderr.write(`created admin token "${name}" for all projects; this is the only time it is shown\n`);
  } finally {
    await database.close();
  }
}
