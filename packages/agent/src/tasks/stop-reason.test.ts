import { describe, expect, it } from 'vitest';
import type { TaskEnd } from '../drivers/driver.js';
import { decideStop } from './stop-reason.js';

const end = (patch: Partial<TaskEnd>): TaskEnd => ({
  exitCode: 0,
  oomKilled: false,
  startedAt: '2021-03-17T09:58:34.000Z',
  finishedAt: '2021-03-17T09:59:34.000Z',
  usage: { peakMemoryBytes: null, cpuSeconds: null, diskBytes: null },
  lostWithEngine: null,
  ...patch,
});

describe('decideStop', () => {
  it('reports an exit on its own as EXITED, with no reason beside the exit code', () => {
    expect(decideStop(end({ exitCode: 143 }), null, 0.5)).toEqual({ stopCode: 'EXITED', reason: null });
  });

  it('reports a task its engine took down as ENGINE_LOST with the engine named, never a bare exit code or OOM_KILLED', () => {
    const lost = end({ exitCode: 137, lostWithEngine: 'the Docker engine restarted' });
    expect(decideStop(lost, null, 0.5)).toEqual({ stopCode: 'ENGINE_LOST', reason: 'the Docker engine restarted' });
    expect(decideStop({ ...lost, exitCode: null }, null, 0.5)).toEqual({ stopCode: 'ENGINE_LOST', reason: 'the Docker engine restarted' });
  });

  it('keeps the kernel\'s OOM kill and a requested stop ahead of the engine', () => {
    expect(decideStop(end({ exitCode: 137, oomKilled: true, lostWithEngine: 'the Docker engine restarted' }), null, 0.5).stopCode).toBe('OOM_KILLED');
    const requested = { stopCode: 'USER_STOPPED' as const, reason: 'stopped by ci' };
    expect(decideStop(end({ lostWithEngine: 'the Docker engine restarted' }), requested, 0.5)).toEqual(requested);
  });
});
