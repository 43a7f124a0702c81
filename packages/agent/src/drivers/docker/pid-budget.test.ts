import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pidBudget, readPidMax } from './pid-budget.js';

describe('pidBudget', () => {
  it('keeps the tasks together within half of pid_max', () => {
    expect(pidBudget(1024, 32_768)).toEqual({ pidMax: 32_768, pidsPerTask: 1024, maxTasks: 16 });
    expect(pidBudget(1024, 4_194_304)).toEqual({ pidMax: 4_194_304, pidsPerTask: 1024, maxTasks: 2048 });
    expect(pidBudget(1000, 32_768)).toEqual({ pidMax: 32_768, pidsPerTask: 1000, maxTasks: 16 });
    for (const [perTask, pidMax] of [[1024, 32_768], [64, 1000], [5000, 32_768], [16, 4_194_304]] as const) {
      const budget = pidBudget(perTask, pidMax);
      expect(budget.pidsPerTask * budget.maxTasks).toBeLessThanOrEqual(pidMax / 2);
    }
  });

  it('lowers the per-task limit to half of a small pid_max, leaving one task', () => {
    expect(pidBudget(4096, 4096)).toEqual({ pidMax: 4096, pidsPerTask: 2048, maxTasks: 1 });
  });
});

describe('readPidMax', () => {
  it('reads the kernel file, and assumes the kernel default when it cannot', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pid-max-'));
    writeFileSync(join(dir, 'pid_max'), '4194304\n');
    expect(readPidMax(join(dir, 'pid_max'))).toBe(4_194_304);
    writeFileSync(join(dir, 'bad'), 'many\n');
    expect(readPidMax(join(dir, 'bad'))).toBe(32_768);
    expect(readPidMax(join(dir, 'missing'))).toBe(32_768);
  });
});
