import type { Kysely } from 'kysely';
import type { TaskSpec } from '@tapit/protocol';
import type { AppRow, Database, TaskRow } from '../db/schema.js';
import { filesOfTasks } from './task-files.js';

/** What a task's spec takes from its app. */
export type SpecApp = Pick<AppRow, 'project' | 'read_only' | 'pull_policy'>;

/** What a task's spec takes from its row. */
export const SPEC_COLUMNS = ['id', 'app_id', 'image', 'command', 'entrypoint', 'env', 'kind', 'cpu', 'memory_gb', 'max_hours', 'ephemeral_storage_gb', 'started_at', 'terminal_cols', 'terminal_rows', 'keep_seconds'] as const;
export type SpecRow = Pick<TaskRow, (typeof SPEC_COLUMNS)[number]>;

/** What an agent is sent to run a task row. */
export function toTaskSpec(row: SpecRow, app: SpecApp, files: TaskSpec['files'] = []): TaskSpec {
  return {
    taskId: row.id,
    image: row.image,
    command: row.command,
    entrypoint: row.entrypoint,
    env: row.env,
    kind: row.kind as TaskSpec['kind'],
    resources: {
      cpu: row.cpu,
      memoryGb: row.memory_gb,
      maxHours: row.max_hours,
      ephemeralStorageGb: row.ephemeral_storage_gb,
    },
    startedAt: row.started_at ? row.started_at.toISOString() : null,
    labels: { 'tapit.task-id': row.id },
    ...(row.terminal_cols && row.terminal_rows ? { terminal: { cols: row.terminal_cols, rows: row.terminal_rows } } : {}),
    // The project keeps its tasks on a network of their own; read_only is the app's option.
    project: app.project,
    readOnly: app.read_only,
    pullPolicy: app.pull_policy,
    // Files go to a task not yet started only; once it runs they are deleted.
    ...(files.length > 0 ? { files } : {}),
    ...(row.keep_seconds ? { keepSeconds: row.keep_seconds } : {}),
  };
}

/**
 * The specs of `rows`, in order, with their apps read in one query (`db` may be a transaction).
 * `withFiles`, when the caller knows it (placement's claim does), names the rows that have files:
 * the others' are not looked for.
 */
export async function taskSpecs(db: Kysely<Database>, rows: SpecRow[], withFiles?: ReadonlySet<string>): Promise<TaskSpec[]> {
  if (rows.length === 0) return [];
  const ids = [...new Set(rows.map((row) => row.app_id))];
  const apps = await db.selectFrom('apps').select(['id', 'project', 'read_only', 'pull_policy']).where('id', 'in', ids).execute();
  const byId = new Map(apps.map((app) => [app.id, app]));
  const files = await filesOfTasks(db, rows.filter((row) => row.started_at === null && (withFiles?.has(row.id) ?? true)).map((row) => row.id));
  // Tasks keep their app (ON DELETE RESTRICT), so every row finds it.
  return rows.map((row) => toTaskSpec(row, byId.get(row.app_id)!, files.get(row.id)));
}
