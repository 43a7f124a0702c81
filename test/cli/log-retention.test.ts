import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { appLines, idFrom, startSystem, type System } from '../support/system.js';

// Log retention through the built CLI, scheduler and agent: an app's log_retention_days, and
// `show logs` of a task whose log it deleted.
let system: System;

beforeAll(async () => {
  system = await startSystem();
}, HOOK_TIMEOUT_MS);
afterAll(() => system?.stop(), HOOK_TIMEOUT_MS);

const EXPIRED = /^The log of task ([0-9a-f]{32}) expired: log retention deleted it at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(the task finished longer ago than its app or the scheduler keeps logs\)$/;

describe('log retention', () => {
  it('refuses a retention that is not a number of days above 0, naming the key', async () => {
    for (const value of ['0', 'week', '-1']) {
      const bad = await system.tapit('update', 'app', 'web', `log_retention_days=${value}`);
      expect(bad.code, bad.stderr).toBe(2);
      expect(bad.stderr.trim().split('\n')).toHaveLength(1);
      expect(bad.stderr).toContain(`value "${value}" for log_retention_days`);
    }
    // Nothing to change: the keys of the command, not the API's fields.
    const none = await system.tapit('update', 'app', 'web');
    expect([none.code, none.stderr.trim()]).toEqual([2, 'Error: Nothing to change: give constraint=…, log_retention_days=… or pull_policy=…']);
    const created = await system.tapit('create', 'app', 'weekly', 'image=busybox', 'log_retention_days=7');
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain('Logs of its tasks are deleted 7 days after they finish');
  });

  it('show logs of a task whose log expired says so, exit code 0; the task stays', async () => {
    const run = await system.tapit('create', 'task', 'echo kept for now', '--wait');
    expect(run.code, run.stderr).toBe(0);
    const id = idFrom(run.stdout);
    const before = await system.tapit('show', 'logs', `task=${id}`);
    expect(appLines(before.stdout)).toEqual(['kept for now']);

    // About a second: the task finished longer ago than that once the next retention pass looks.
    const updated = await system.tapit('update', 'app', 'web', 'log_retention_days=0.00001');
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.stdout).toContain('Logs of its tasks: deleted 0.00001 days after they finish');

    let shown = await system.tapit('show', 'logs', `task=${id}`);
    for (let i = 0; i < 60 && !shown.stderr.includes('expired'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      shown = await system.tapit('show', 'logs', `task=${id}`);
    }
    expect(shown.code, `${shown.stderr}\n${system.output()}`).toBe(0);
    expect(shown.stdout).toBe('');
    expect(shown.stderr.trimEnd()).toMatch(EXPIRED);
    expect(EXPIRED.exec(shown.stderr.trimEnd())![1]).toBe(id);

    const raw = await system.tapit('show', 'logs', `task=${id}`, '--raw', '--tail', '5');
    expect([raw.code, raw.stdout]).toEqual([0, '']);
    expect(raw.stderr.trimEnd()).toMatch(EXPIRED);
    const json = JSON.parse((await system.tapit('show', 'logs', `task=${id}`, '--json')).stdout) as { lines: unknown[]; expiredAt: string };
    expect(json.lines).toEqual([]);
    expect(Date.parse(json.expiredAt)).not.toBeNaN();
    // Following it ends at once with the task's exit code, saying the same.
    const followed = await system.tapit('show', 'logs', `task=${id}`, '--follow');
    expect([followed.code, followed.stdout]).toEqual([0, '']);
    expect(followed.stderr.trimEnd()).toMatch(EXPIRED);
    const task = await system.task(id);
    expect([task.status, task.exitCode, task.stopCode]).toEqual(['STOPPED', 0, 'EXITED']);
    const details = await system.tapit('show', 'task', `task=${id}`);
    expect(details.stdout).toMatch(/^Log: expired, log retention deleted it at /m);

    const back = await system.tapit('update', 'app', 'web', 'log_retention_days=default');
    expect(back.stdout).toContain("Logs of its tasks: kept as the scheduler's TAPIT_LOG_RETENTION_DAYS says");
  });
});
