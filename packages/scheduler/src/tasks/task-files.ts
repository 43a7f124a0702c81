import type { Kysely } from 'kysely';
import type { TaskFile } from '@tapit/protocol';
export { MAX_TASK_FILES_BYTES } from '@tapit/protocol';
import type { Database } from '../db/schema.js';

/**
 * A task's `--file`s: stored with the task when it is created, sent with its assignment (also a
 * re-sent one, after a scheduler restart or an agent reconnect) and deleted once the task runs
 * or stops (lifecycle.ts), so their bytes stay no longer than needed.
 */

/** The bytes of `files` all together, decoded. */
export function taskFilesBytes(files: readonly TaskFile[]): number {
  return files.reduce((sum, file) => sum + Buffer.byteLength(file.content, 'base64'), 0);
}

/**
 * The body a create-task request may send: the 1 MiB of any request, the files' bytes as base64,
 * and room for their paths (64 paths of 4096 characters, JSON-escaped at worst).
 */
export function createTaskBodyLimit(baseBytes: number, filesMaxBytes: number): number {
  return baseBytes + Math.ceil(filesMaxBytes / 3) * 4 + 64 * 4096 * 6;
}

/**
 * The bytes of a create-task body besides its files' content (their base64 `content` strings),
 * which stays within the 1 MiB of any body: only the files get the route's larger limit.
 */
export function bodyBytesBesidesFiles(json: unknown): number {
  if (typeof json !== 'object' || json === null) return 0;
  const files = (json as { files?: unknown }).files;
  const contents = Array.isArray(files) ? files.reduce((sum: number, f: unknown) => sum + (typeof (f as { content?: unknown })?.content === 'string' ? ((f as { content: string }).content.length) : 0), 0) : 0;
  return Buffer.byteLength(JSON.stringify(json)) - contents;
}

/** Stores new tasks' files, one statement for all (in the caller's transaction: with the tasks, or not at all). */
export async function storeFilesOfTasks(db: Kysely<Database>, tasks: readonly { taskId: string; files: readonly TaskFile[] }[]): Promise<void> {
  const rows = tasks.flatMap(({ taskId, files }) => files.map((file, position) => ({ task_id: taskId, position, path: file.path, mode: file.mode, content: Buffer.from(file.content, 'base64') })));
  if (rows.length === 0) return;
  await db.insertInto('task_files').values(rows).execute();
}

/** The files of `taskIds` still to be written, per task, in their order. */
export async function filesOfTasks(db: Kysely<Database>, taskIds: readonly string[]): Promise<Map<string, TaskFile[]>> {
  const byTask = new Map<string, TaskFile[]>();
  if (taskIds.length === 0) return byTask;
  const rows = await db.selectFrom('task_files').selectAll().where('task_id', 'in', [...taskIds]).orderBy('task_id').orderBy('position').execute();
  for (const row of rows) {
    const list = byTask.get(row.task_id) ?? [];
    list.push({ path: row.path, mode: row.mode, content: Buffer.from(row.content).toString('base64') });
    byTask.set(row.task_id, list);
  }
  return byTask;
}

/** Forgets the files of tasks that no longer need them (they run, or stopped). */
export async function dropTaskFiles(db: Kysely<Database>, taskIds: readonly string[]): Promise<void> {
  if (taskIds.length === 0) return;
  await db.deleteFrom('task_files').where('task_id', 'in', [...taskIds]).execute();
}
