import { describe, expect, it } from 'vitest';
import { formatLabels, formatStatus, runHistoryListing, scheduleListing } from './index.js';

// What the CLI prints with these is covered by its own output tests (packages/cli/src/lib/*.test.ts);
// that this folder loads no zod, by test/architecture.test.ts.
describe('@tapit/protocol/format', () => {
  it("shows a task's stop and labels as the CLI does", () => {
    expect(formatStatus({ status: 'STOPPED', stopCode: 'EXITED', exitCode: 3 })).toBe('STOPPED (EXITED 3)');
    expect(formatStatus({ status: 'RUNNING', stopCode: null, exitCode: null })).toBe('RUNNING');
    expect(formatLabels({ zone: 'b', gpu: 'true' })).toBe('gpu=true,zone=b');
  });

  it("gives a listing's later attempts of one slot empty slot cells", () => {
    expect(scheduleListing([]).headers).toContain('FAILING');
    const attempt = (n: number) => ({ attempt: n, taskId: `${n}`.repeat(32), status: 'STOPPED' as const, stopCode: 'EXITED' as const, exitCode: 1 });
    const run = { scheduledFor: '2026-01-01T00:00:00.000Z', trigger: 'cron' as const, outcome: 'failed' as const, reason: null, attempts: [attempt(1), attempt(2)], nextAttemptAt: null, createdAt: '2026-01-01T00:00:00.000Z' };
    expect(runHistoryListing([run]).rows).toEqual([
      ['2026-01-01 00:00:00', 'cron', 'failed', '1', '111111111111', 'STOPPED (EXITED 1)', ''],
      ['', '', '', '2', '222222222222', 'STOPPED (EXITED 1)', ''],
    ]);
  });
});
