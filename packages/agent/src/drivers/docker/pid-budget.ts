import { readFileSync } from 'node:fs';

/** The kernel's default, assumed when /proc cannot be read. */
const DEFAULT_PID_MAX = 32_768;
export const PID_MAX_FILE = '/proc/sys/kernel/pid_max';

export interface PidBudget {
  /** The host's process id limit. */
  pidMax: number;
  /** Each task's PIDs limit. */
  pidsPerTask: number;
  /** How many tasks may run at once, so their PIDs limits together stay within the tasks' half. */
  maxTasks: number;
}

/**
 * Process ids are one table for the whole host: a fork bomb in every task must still leave the
 * host room to work. Tasks together may hold at most half of `pid_max`; each task gets
 * `pidsPerTask` (less if half of pid_max is smaller), and the agent runs as many tasks at once as
 * fit. The agent reads pid_max of the machine it runs on: run it on the engine's host.
 */
export function pidBudget(pidsPerTask: number, pidMax = readPidMax()): PidBudget {
  const forTasks = Math.floor(pidMax / 2);
  const perTask = Math.max(1, Math.min(pidsPerTask, forTasks));
  return { pidMax, pidsPerTask: perTask, maxTasks: Math.max(1, Math.floor(forTasks / perTask)) };
}

export function readPidMax(file = PID_MAX_FILE): number {
  try {
    const value = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(value) && value > 0 ? value : DEFAULT_PID_MAX;
  } catch {
    return DEFAULT_PID_MAX;
  }
}
