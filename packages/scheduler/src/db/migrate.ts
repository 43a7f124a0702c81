import { createHash } from 'node:crypto';
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import * as initial from './migrations/0001-initial.js';
import * as consoleSessions from './migrations/0002-console-sessions.js';
import * as taskTerminal from './migrations/0003-task-terminal.js';
import * as assignmentTimes from './migrations/0004-task-assignment-times.js';
import * as agentIdentity from './migrations/0005-agent-identity.js';
import * as appContainerOptions from './migrations/0006-app-container-options.js';
import * as agentReadiness from './migrations/0007-agent-readiness.js';
import * as consoleInputRecording from './migrations/0008-console-input-recording.js';
import * as consoleSessionHolder from './migrations/0009-console-session-holder.js';
import * as idempotencyKeys from './migrations/0010-idempotency-keys.js';
import * as taskLateReport from './migrations/0011-task-late-report.js';
import * as schedules from './migrations/0012-schedules.js';
import * as scheduleRunsMissed from './migrations/0013-schedule-runs-missed.js';
import * as taskLogChunks from './migrations/0014-task-log-chunks.js';
import * as webhooks from './migrations/0015-webhooks.js';
import * as logRetention from './migrations/0016-log-retention.js';
import * as auditTrail from './migrations/0017-audit-trail.js';
import * as appEnv from './migrations/0018-app-env.js';
import * as taskFiles from './migrations/0019-task-files.js';
import * as registries from './migrations/0020-registries.js';
import * as schedulerReplicas from './migrations/0021-scheduler-replicas.js';
import * as taskListingIndexes from './migrations/0022-task-listing-indexes.js';
import * as dashboardSessions from './migrations/0023-dashboard-sessions.js';
import * as tasksFillfactor from './migrations/0024-tasks-fillfactor.js';

/** Migrations in order; a new one is a new file here, never an edit of an old one. */
const MIGRATIONS: Record<string, Migration> = {
  '0001-initial': initial,
  '0002-console-sessions': consoleSessions,
  '0003-task-terminal': taskTerminal,
  '0004-task-assignment-times': assignmentTimes,
  '0005-agent-identity': agentIdentity,
  '0006-app-container-options': appContainerOptions,
  '0007-agent-readiness': agentReadiness,
  '0008-console-input-recording': consoleInputRecording,
  '0009-console-session-holder': consoleSessionHolder,
  '0010-idempotency-keys': idempotencyKeys,
  '0011-task-late-report': taskLateReport,
  '0012-schedules': schedules,
  '0013-schedule-runs-missed': scheduleRunsMissed,
  '0014-task-log-chunks': taskLogChunks,
  '0015-webhooks': webhooks,
  '0016-log-retention': logRetention,
  '0017-audit-trail': auditTrail,
  '0018-app-env': appEnv,
  '0019-task-files': taskFiles,
  '0020-registries': registries,
  '0021-scheduler-replicas': schedulerReplicas,
  '0022-task-listing-indexes': taskListingIndexes,
  '0023-dashboard-sessions': dashboardSessions,
  '0024-tasks-fillfactor': tasksFillfactor,
};

/**
 * What the migrations are, as one hash: their names and code. A copy of a database migrated by
 * one version (the tests' templates) is the same as one migrated afresh while this is unchanged.
 */
export function schemaFingerprint(): string {
  const hash = createHash('sha256');
  for (const [name, migration] of Object.entries(MIGRATIONS)) hash.update(`${name}\n${String(migration.up)}\n${String(migration.down ?? '')}\n`);
  return hash.digest('hex').slice(0, 16);
}

const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS };

/** Arbitrary but fixed: the key of the advisory lock that serializes migrations. */
const MIGRATION_LOCK_KEY = 7700_0001;

/**
 * Brings the schema up to date. Replicas starting at once take turns on a session advisory
 * lock held around the whole run (Kysely's own lock comes after it creates its tables, and
 * two concurrent CREATE TABLE IF NOT EXISTS can collide), so later ones find nothing to do.
 */
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  return db.connection().execute(async (connection) => {
    await sql`SELECT pg_advisory_lock(${MIGRATION_LOCK_KEY})`.execute(connection);
    try {
      const migrator = new Migrator({
        db: connection,
        provider,
        migrationTableName: 'tapit_migrations',
        migrationLockTableName: 'tapit_migrations_lock',
        // Numbers were handed out to work landing in any order: a database that already has a
        // later one still gets an earlier one it lacks (each touches its own columns).
        allowUnorderedMigrations: true,
      });
      const { error, results } = await migrator.migrateToLatest();
      if (error) throw error instanceof Error ? error : new Error(String(error));
      return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    } finally {
      await sql`SELECT pg_advisory_unlock(${MIGRATION_LOCK_KEY})`.execute(connection);
    }
  });
}
