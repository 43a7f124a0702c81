import { z } from 'zod';

/** What SetOps shows: accepted → on an agent → running → being stopped → stopped. */
export const TaskStatus = z.enum(['PROVISIONING', 'PENDING', 'RUNNING', 'STOPPING', 'STOPPED']);
export type TaskStatus = z.infer<typeof TaskStatus>;

export const DesiredStatus = z.enum(['RUNNING', 'STOPPED']);
export type DesiredStatus = z.infer<typeof DesiredStatus>;

/** Why a task stopped; every stop has exactly one. */
export const StopCode = z.enum([
  'EXITED',
  'USER_STOPPED',
  'TIMED_OUT',
  'OOM_KILLED',
  'STORAGE_EXCEEDED',
  'FAILED_TO_START',
  'AGENT_LOST',
  /** The container engine stopped or restarted under the task and took it down. */
  'ENGINE_LOST',
]);
export type StopCode = z.infer<typeof StopCode>;

/** A process's exit code as the engine reports it: 32 bits, as the database keeps it. */
export const ExitCode = z.number().int().min(-(2 ** 31)).max(2 ** 31 - 1);
export type ExitCode = z.infer<typeof ExitCode>;

export const TaskKind = z.enum(['background', 'interactive']);
export type TaskKind = z.infer<typeof TaskKind>;

/** Statuses a task can still leave; STOPPED is final. */
export const ACTIVE_TASK_STATUSES: readonly TaskStatus[] = ['PROVISIONING', 'PENDING', 'RUNNING', 'STOPPING'];

export function isFinished(status: TaskStatus): boolean {
  return status === 'STOPPED';
}
