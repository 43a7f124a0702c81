import { randomBytes } from 'node:crypto';
import { chmodSync, createWriteStream, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ContainerPath, FILE_MODE_HEADER, MAX_KEEP_SECONDS, TaskIdPrefix } from '@tapit/protocol';
import { parseDurationSeconds } from './durations.js';
import type { ApiClient } from './api-client.js';
import { CliError, UsageError } from './errors.js';
import { taskPath } from './task-arg.js';

/**
 * `keep=DURATION` of `create task` (how long the container stays after the end, for `tapit cp`),
 * taken out of the key=values: the rest go on as they are.
 */
export function takeKeep(argv: readonly string[]): { keepSeconds: number | undefined; rest: string[] } {
  let keepSeconds: number | undefined;
  const rest = argv.filter((arg) => {
    if (!arg.startsWith('keep=')) return true;
    keepSeconds = parseDurationSeconds(arg.slice('keep='.length), 'keep');
    if (keepSeconds <= 0 || keepSeconds > MAX_KEEP_SECONDS) throw new UsageError(`Bad value "${arg.slice(5)}" for keep: must be a duration from 1s to 7d`);
    return false;
  });
  return { keepSeconds, rest };
}

/** `TASK:/PATH` and `LOCAL` of `tapit cp`, checked before anything is asked. */
export function parseCopyArgs(source: string | undefined, target: string | undefined): { task: string; path: string; local: string } {
  const usage = 'give TASK:/PATH/IN/CONTAINER LOCAL, e.g. tapit cp 55a9b03b:/app/export.csv ./export.csv';
  if (!source || !target) throw new UsageError(`Missing arguments: ${usage}`);
  if (/^[0-9a-f]+:\//.test(target) && !/^[0-9a-f]+:\//.test(source)) {
    throw new UsageError('tapit cp copies out of a task only; to copy a file in, give it when the task is created: tapit create task CMD --file LOCAL:/PATH');
  }
  const split = source.indexOf(':');
  if (split <= 0) throw new UsageError(`Bad source "${source}": ${usage}`);
  const task = source.slice(0, split);
  const path = source.slice(split + 1);
  if (!TaskIdPrefix.safeParse(task).success) throw new UsageError(`Bad task "${task}": must be a task id or a unique prefix of it (hexadecimal)`);
  const checked = ContainerPath.safeParse(path);
  if (!checked.success) throw new UsageError(`Bad path "${path}": ${checked.error.issues[0]?.message ?? 'not a valid path'}`);
  return { task, path, local: target };
}

/**
 * Copies one file out of a task into `local` (a folder: the file keeps its name there). The bytes
 * go to a hidden file beside it, renamed into place only once all of them came: a cut copy leaves
 * nothing behind.
 */
export async function copyOut(client: ApiClient, task: string, path: string, local: string): Promise<{ file: string; bytes: number }> {
  let file = local;
  try {
    if (statSync(local).isDirectory()) file = join(local, basename(path));
  } catch {
    // Not there yet: the file's own name.
  }
  const answer = await client.streamPost(taskPath(task, '/copy'), { path });
  const size = Number(answer.headers['content-length']);
  const mode = parseInt(String(answer.headers[FILE_MODE_HEADER.toLowerCase()] ?? '644'), 8);
  const partial = join(dirname(file), `.${basename(file)}.tapit-cp-${randomBytes(4).toString('hex')}`);
  let written = 0;
  const count = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      written += chunk.length;
      callback(null, chunk);
    },
  });
  try {
    await pipeline(answer.body, count, createWriteStream(partial, { mode: 0o600 }));
    if (Number.isFinite(size) && written !== size) throw new Error(`${written} of ${size} bytes came`);
    chmodSync(partial, mode & 0o777);
    renameSync(partial, file);
  } catch (error) {
    rmSync(partial, { force: true });
    if (error instanceof CliError) throw error;
    throw new CliError(`The copy of ${path} was cut (${(error as Error).message}); nothing was written to ${file}`);
  }
  return { file, bytes: written };
}
