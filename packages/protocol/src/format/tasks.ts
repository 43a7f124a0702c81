import type { Task } from '../api/tasks.js';
import { formatBytes, formatDuration, formatNumber, formatTimestamp, formatUtc, shellJoin, shortId, truncate } from './text.js';

/** A listing's header and its cells, row by row: the CLI pads them, the dashboard puts them in a table. */
export interface Listing {
  headers: string[];
  rows: string[][];
}

/** `Key`, `value` pairs, in the order `tapit show …` prints them. */
export type Details = [key: string, value: string][];

/** The command as the user typed it: a `/bin/sh -c LINE` task shows just its LINE. */
export function formatCommand(command: readonly string[]): string {
  if (command.length === 3 && command[0] === '/bin/sh' && command[1] === '-c') return command[2]!;
  return shellJoin(command);
}

/** Run time: start to finish, or to now while running; null before the start. */
export function taskDurationMs(task: Pick<Task, 'startedAt' | 'finishedAt'>, now: Date = new Date()): number | null {
  if (task.startedAt === null) return null;
  const end = task.finishedAt === null ? now.getTime() : Date.parse(task.finishedAt);
  return end - Date.parse(task.startedAt);
}

/** `STOPPED (EXITED 0)`, `STOPPED (TIMED_OUT)`, `RUNNING`. */
export function formatStatus(task: Pick<Task, 'status' | 'stopCode' | 'exitCode'>): string {
  if (task.stopCode === null) return task.status;
  const exit = task.exitCode === null ? '' : ` ${task.exitCode}`;
  return `${task.status} (${task.stopCode}${exit})`;
}

/** Whether a task ended other than by exiting 0: listings mark it. */
export function taskFailed(task: Pick<Task, 'stopCode' | 'exitCode'>): boolean {
  return (task.stopCode !== null && task.stopCode !== 'EXITED') || (task.exitCode ?? 0) !== 0;
}

export function formatResources(task: Pick<Task, 'resources'>): string {
  return `${formatNumber(task.resources.cpu)} vCPU / ${formatNumber(task.resources.memoryGb)} GB`;
}

/** `tapit list tasks`'s columns. */
export function taskListing(tasks: readonly Task[], now: Date = new Date()): Listing {
  return {
    headers: ['ID', 'STATUS', 'COMMAND', 'CREATED', 'DURATION', 'CPU / MEMORY'],
    rows: tasks.map((task) => [
      shortId(task.id),
      formatStatus(task),
      truncate(formatCommand(task.command), 40),
      formatTimestamp(task.createdAt),
      formatDuration(taskDurationMs(task, now)),
      formatResources(task),
    ]),
  };
}

/** `9c1b… (slot 2021-03-17 01:30:00 UTC)`: the schedule a task came from. */
function formatSchedule(scheduleId: string, scheduledFor: string | null): string {
  return scheduledFor ? `${scheduleId} (slot ${formatUtc(scheduledFor)})` : scheduleId;
}

/** Everything `tapit show task` prints, as `Key`, `value` pairs. */
export function taskDetails(task: Task, now: Date = new Date()): Details {
  const { resources, usage } = task;
  const stop = task.stopCode === null ? '-' : `${task.stopCode}${task.stopReason ? `: ${task.stopReason}` : ''}${task.stoppedBy ? ` (by ${task.stoppedBy})` : ''}`;
  const image = task.imageDigest ? `${task.image} (${task.imageDigest})` : task.image;
  return [
    ['ID', task.id],
    ['App', `${task.project}/${task.stage}/${task.app}${task.release === null ? '' : ` release ${task.release}`}`],
    ['Status', task.status],
    ['Desired status', task.desiredStatus],
    ['Stop code', stop],
    ['Exit code', task.exitCode === null ? '-' : String(task.exitCode)],
    ['Kind', task.kind],
    ['Command', formatCommand(task.command)],
    ['Entrypoint', task.entrypoint === null ? '(image default)' : shellJoin(task.entrypoint)],
    ['Image', image],
    // Names only: the task's own vars are secrets; its app's are listed by `tapit list env`.
    ...(task.envKeys && task.envKeys.length > 0 ? [['Env (own)', `${task.envKeys.join(', ')} (values hidden)`] as [string, string]] : []),
    ['Agent', task.agent ?? '-'],
    ['Created', `${formatTimestamp(task.createdAt)} by ${task.createdBy}${task.initiatedBy ? ` (initiated by ${task.initiatedBy})` : ''}`],
    ...(task.scheduleId ? [['Schedule', formatSchedule(task.scheduleId, task.scheduledFor)] as [string, string]] : []),
    ['Started', formatTimestamp(task.startedAt)],
    ['Finished', formatTimestamp(task.finishedAt)],
    ['Duration', formatDuration(taskDurationMs(task, now))],
    ['CPU', `${formatNumber(resources.cpu)} vCPU`],
    ['Memory', `${formatNumber(resources.memoryGb)} GB`],
    ['Max hours', resources.maxHours === null ? 'no limit' : formatNumber(resources.maxHours)],
    ['Ephemeral storage', resources.ephemeralStorageGb === null ? 'default' : `${formatNumber(resources.ephemeralStorageGb)} GB`],
    ['Peak memory', formatBytes(usage.peakMemoryBytes)],
    ['CPU time', usage.cpuSeconds === null ? '-' : `${formatNumber(usage.cpuSeconds)}s`],
    ['Disk', formatBytes(usage.diskBytes)],
    ['Log size', logSize(task.log)],
  ];
}

/** What the task's log holds, and what its log limit dropped. */
function logSize(log: Task['log']): string {
  if (!log) return '-';
  const held = `${log.lines} ${log.lines === 1 ? 'line' : 'lines'}, ${formatBytes(log.bytes)}`;
  if (log.droppedLines === 0) return held;
  return `${held}; ${log.droppedLines} lines (${formatBytes(log.droppedBytes)}) dropped past the log limit`;
}
