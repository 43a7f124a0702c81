import type { TaskSpec } from '@tapit/protocol';
import type { TaskRow } from '../db/schema.js';

/** What an agent is sent to run a task row. */
export function toTaskSpec(row: TaskRow): TaskSpec {
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
  };
}
