import { describe, expect, it } from 'vitest';
import { ACTIVE_TASK_STATUSES, StopCode, TaskStatus, isFinished } from './status.js';

describe('task status', () => {
  it('goes PROVISIONING → PENDING → RUNNING → STOPPING → STOPPED, in that order', () => {
    expect(TaskStatus.options).toEqual(['PROVISIONING', 'PENDING', 'RUNNING', 'STOPPING', 'STOPPED']);
  });

  it('is finished only when STOPPED, and every other status is active', () => {
    expect(TaskStatus.options.filter(isFinished)).toEqual(['STOPPED']);
    expect([...ACTIVE_TASK_STATUSES].sort()).toEqual(TaskStatus.options.filter((s) => !isFinished(s)).sort());
  });

  it('has exactly the stop codes the product names', () => {
    expect([...StopCode.options].sort()).toEqual(
      ['AGENT_LOST', 'ENGINE_LOST', 'EXITED', 'FAILED_TO_START', 'OOM_KILLED', 'STORAGE_EXCEEDED', 'TIMED_OUT', 'USER_STOPPED'],
    );
  });

  it('refuses lower-case statuses', () => {
    expect(TaskStatus.safeParse('running').success).toBe(false);
  });
});
