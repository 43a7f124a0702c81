import type { Task } from '@tapit/protocol';

/*
 * The CLI's words and formats (packages/cli/src/lib/output.ts, task-output.ts), so a page and
 * `tapit show task` read the same. Copied, not imported: the scheduler never imports the CLI.
 */

export const formatTimestamp = (iso: string | null) => (iso === null ? '-' : `${iso.slice(0, 19).replace('T', ' ')} UTC`);

export function formatDuration(ms: number | null): string {
  if (ms === null) return '-';
  const seconds = Math.max(0, ms) / 1000;
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  if (seconds < 60) return `${Math.floor(seconds)}s`;
  const minutes = Math.floor(seconds / 60);
  const pad2 = (n: number) => String(n).padStart(2, '0');
  if (minutes < 60) return `${minutes}m ${pad2(Math.floor(seconds % 60))}s`;
  return `${Math.floor(minutes / 60)}h ${pad2(minutes % 60)}m`;
}

export function formatBytes(bytes: number | null): string {
  if (bytes === null) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

export const formatNumber = (value: number) => String(Number(value.toPrecision(4)));

export function shellJoin(args: readonly string[]): string {
  return args.map((arg) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** The command as the user typed it: a `/bin/sh -c LINE` task shows just its LINE. */
export function formatCommand(command: readonly string[]): string {
  if (command.length === 3 && command[0] === '/bin/sh' && command[1] === '-c') return command[2]!;
  return shellJoin(command);
}

/** `STOPPED (EXITED 0)`, `STOPPED (TIMED_OUT)`, `RUNNING`. */
export function formatStatus(task: Pick<Task, 'status' | 'stopCode' | 'exitCode'>): string {
  if (task.stopCode === null) return task.status;
  return `${task.status} (${task.stopCode}${task.exitCode === null ? '' : ` ${task.exitCode}`})`;
}

/** Run time: start to finish, or to now while running; null before the start. */
export function taskDurationMs(task: Pick<Task, 'startedAt' | 'finishedAt'>, now: Date = new Date()): number | null {
  if (task.startedAt === null) return null;
  const end = task.finishedAt === null ? now.getTime() : Date.parse(task.finishedAt);
  return end - Date.parse(task.startedAt);
}

export const shortId = (id: string) => id.slice(0, 12);
