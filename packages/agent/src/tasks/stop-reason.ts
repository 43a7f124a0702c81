import type { StopCode } from '@tapit/protocol';
import type { TaskEnd } from '../drivers/driver.js';

/**
 * Exactly one reason per stop: a requested stop wins, then the OOM killer, then the engine
 * going away under the task, then the exit code.
 */
export function decideStop(
  end: TaskEnd,
  requested: { stopCode: StopCode; reason: string } | null,
  memoryGb: number | null,
): { stopCode: StopCode; reason: string | null } {
  if (requested) return requested;
  if (end.oomKilled) {
    const limit = memoryGb === null ? 'its memory limit' : `its memory limit of ${memoryGb} GB`;
    return { stopCode: 'OOM_KILLED', reason: `killed by the kernel for exceeding ${limit}` };
  }
  // Its exit code (143, 137) is the engine's doing, not the program's: say so, never a bare code.
  if (end.lostWithEngine !== null) return { stopCode: 'ENGINE_LOST', reason: end.lostWithEngine };
  if (end.exitCode === null) return { stopCode: 'AGENT_LOST', reason: 'the container disappeared; its exit code is unknown' };
  // The exit code says it all (the scheduler prints "EXITED (exit code N)"): no reason to repeat.
  return { stopCode: 'EXITED', reason: null };
}
