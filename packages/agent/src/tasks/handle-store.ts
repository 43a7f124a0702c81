import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ResourceUsage, StopCode, TaskId, TaskSpec, Timestamp } from '@tapit/protocol';

/** The final report of a task, kept until the scheduler has it. */
export const ExitReport = z.object({
  stopCode: StopCode,
  exitCode: z.number().int().nullable(),
  reason: z.string().nullable(),
  usage: ResourceUsage,
  startedAt: Timestamp.nullable(),
  finishedAt: Timestamp,
});
export type ExitReport = z.infer<typeof ExitReport>;

/** What the agent must remember of a task across its own restarts (versioned, like Nomad's). */
export const TaskRecord = z.object({
  version: z.literal(1),
  taskId: TaskId,
  /** Null when the task was adopted by label after the state folder was lost. */
  spec: TaskSpec.nullable(),
  /**
   * The spec's env is not here (kept in memory only, secrets included): after a restart the
   * agent asks the scheduler for it again (`task.env.request`). Absent in records from before.
   */
  envWithheld: z.boolean().optional(),
  limits: z.object({ maxHours: z.number().nullable(), ephemeralStorageGb: z.number().nullable() }),
  handle: z.looseObject({ driver: z.string(), version: z.number() }).nullable(),
  state: z.enum(['pending', 'running', 'exited']),
  /** The image the container really runs (repo digest, or image id when it has none). */
  imageDigest: z.string().max(200).nullable().optional(),
  /** A stop was asked for (by the scheduler or a limit); its code wins over the exit code. */
  stop: z.object({ stopCode: StopCode, reason: z.string() }).nullable(),
  exit: ExitReport.nullable(),
  /** Interactive tasks: since when nobody is attached to the console (null while someone is). */
  consoleIdleSince: Timestamp.nullable().optional(),
});
export type TaskRecord = z.infer<typeof TaskRecord>;

/** One JSON file per task in the state folder (0600), replaced atomically (temp file + rename). */
export class HandleStore {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  save(record: TaskRecord): void {
    const path = join(this.dir, `${record.taskId}.json`);
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, JSON.stringify(record), { mode: 0o600 });
    renameSync(tmp, path);
  }

  remove(taskId: string): void {
    rmSync(join(this.dir, `${taskId}.json`), { force: true });
  }

  /** Every readable record; unreadable files are reported and skipped, never fatal. */
  loadAll(onBad: (file: string, why: string) => void): TaskRecord[] {
    const out: TaskRecord[] = [];
    for (const file of readdirSync(this.dir)) {
      if (!/^[0-9a-f]{32}\.json$/.test(file)) continue;
      try {
        const parsed = TaskRecord.safeParse(JSON.parse(readFileSync(join(this.dir, file), 'utf8')));
        if (parsed.success) out.push(parsed.data);
        else onBad(file, parsed.error.issues[0]?.message ?? 'invalid');
      } catch (error) {
        onBad(file, error instanceof Error ? error.message : String(error));
      }
    }
    return out;
  }
}
