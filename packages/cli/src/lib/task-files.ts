import { readFileSync, statSync } from 'node:fs';
import { Flags } from '@oclif/core';
import { ContainerPath, MAX_TASK_FILES, MAX_TASK_FILES_BYTES, type TaskFile } from '@tapit/protocol';
import { UsageError } from './errors.js';

/** `--file ./local:/in/container` (repeatable), shared by `create task`, `run` and `task:run`. */
export const fileFlag = Flags.string({
  multiple: true,
  // One value per --file: `--file a:/a keep=1h` leaves keep=1h to the key=values.
  multipleNonGreedy: true,
  summary: `Copy a local file into the container before the task starts, LOCAL:/PATH (repeatable; parent folders made, the file's mode kept, owned by root; at most ${MAX_TASK_FILES_BYTES / 1024 / 1024} MiB all together, or the scheduler's TAPIT_TASK_FILES_MAX_BYTES).`,
});

/**
 * Reads the files `--file` names, refusing before anything is sent: a missing or unreadable
 * local file, a bad container path, or more bytes than any scheduler takes.
 */
export function readTaskFiles(values: readonly string[] | undefined, maxBytes = MAX_TASK_FILES_BYTES): TaskFile[] | undefined {
  if (!values || values.length === 0) return undefined;
  if (values.length > MAX_TASK_FILES) throw new UsageError(`--file: at most ${MAX_TASK_FILES} files, got ${values.length}`);
  const targets = values.map((value) => {
    // The container path is absolute, so it starts after the last `:/` (a local name may hold `:`).
    const split = value.lastIndexOf(':/');
    if (split <= 0) throw new UsageError(`--file ${value}: must be LOCAL:/PATH, e.g. --file ./fix.rb:/app/fix.rb`);
    const local = value.slice(0, split);
    const path = value.slice(split + 1);
    const checked = ContainerPath.safeParse(path);
    if (!checked.success) throw new UsageError(`--file ${value}: the container path ${checked.error.issues[0]?.message ?? 'is not valid'}`);
    let stat;
    try {
      stat = statSync(local);
    } catch (error) {
      throw new UsageError(`--file ${value}: cannot read ${local} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    if (!stat.isFile()) throw new UsageError(`--file ${value}: ${local} is not a regular file`);
    return { value, local, path, mode: stat.mode & 0o7777, size: stat.size };
  });
  const total = targets.reduce((sum, t) => sum + t.size, 0);
  if (total > maxBytes) throw new UsageError(`--file: the files hold ${total} bytes; a task's files may hold at most ${maxBytes} bytes together`);
  const seen = new Set<string>();
  return targets.map((t) => {
    if (seen.has(t.path)) throw new UsageError(`--file ${t.value}: ${t.path} is given twice`);
    seen.add(t.path);
    let content: Buffer;
    try {
      content = readFileSync(t.local);
    } catch (error) {
      throw new UsageError(`--file ${t.value}: cannot read ${t.local} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    if (content.length > maxBytes) throw new UsageError(`--file ${t.value}: ${t.local} grew past ${maxBytes} bytes while read`);
    return { path: t.path, mode: t.mode, content: content.toString('base64') };
  });
}
