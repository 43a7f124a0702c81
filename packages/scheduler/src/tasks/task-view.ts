import type { Task } from '@tapit/protocol';
import type { TaskRow } from '../db/schema.js';

export type TaskWithApp = TaskRow & { project: string; stage: string; app_name: string };

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** A task row as the API shows it. */
export function toTask(row: TaskWithApp): Task {
  return {
    id: row.id,
    project: row.project,
    stage: row.stage,
    app: row.app_name,
    release: row.release,
    image: row.image,
    imageDigest: row.image_digest,
    command: row.command,
    entrypoint: row.entrypoint,
    kind: row.kind as Task['kind'],
    resources: {
      cpu: row.cpu,
      memoryGb: row.memory_gb,
      maxHours: row.max_hours,
      ephemeralStorageGb: row.ephemeral_storage_gb,
    },
    initiatedBy: row.initiated_by,
    createdBy: row.created_by,
    status: row.status as Task['status'],
    desiredStatus: row.desired_status as Task['desiredStatus'],
    stopCode: row.stop_code as Task['stopCode'],
    stopReason: row.stop_reason,
    stoppedBy: row.stopped_by,
    exitCode: row.exit_code,
    agent: row.agent_name,
    constraints: row.constraints,
    envKeys: row.env_keys ?? [],
    usage: { peakMemoryBytes: row.peak_memory_bytes, cpuSeconds: row.cpu_seconds, diskBytes: row.disk_bytes },
    // bigint columns come back from pg as strings.
    log: {
      lines: row.log_count,
      bytes: Number(row.log_bytes),
      droppedLines: Number(row.log_dropped_lines),
      droppedBytes: Number(row.log_dropped_bytes),
      expiredAt: iso(row.log_expired_at),
    },
    createdAt: row.created_at.toISOString(),
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
    scheduleId: row.schedule_id,
    scheduledFor: iso(row.scheduled_for),
  };
}
