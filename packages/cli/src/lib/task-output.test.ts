import { describe, expect, it } from 'vitest';
import { sampleTask as task } from '../testing/sample-task.js';
import { formatCommand, formatStatus, logTail, shortId, taskDetails, taskDurationMs, taskTable } from './task-output.js';

describe('task output', () => {
  it('shortens ids to 12 characters', () => {
    expect(shortId(task.id)).toBe('55a9b03b7654');
  });

  it('shows a shell task as its command line and an argv task quoted', () => {
    expect(formatCommand(task.command)).toBe('rake db:migrate');
    expect(formatCommand(['echo', 'Hello World'])).toBe("echo 'Hello World'");
  });

  it('includes the stop code and exit code in the status', () => {
    expect(formatStatus(task)).toBe('STOPPED (EXITED 3)');
    expect(formatStatus({ status: 'STOPPED', stopCode: 'TIMED_OUT', exitCode: null })).toBe('STOPPED (TIMED_OUT)');
    expect(formatStatus({ status: 'RUNNING', stopCode: null, exitCode: null })).toBe('RUNNING');
    // Killed by its engine's restart: the stop code says so beside the signal's exit code.
    expect(formatStatus({ status: 'STOPPED', stopCode: 'ENGINE_LOST', exitCode: 143 })).toBe('STOPPED (ENGINE_LOST 143)');
    expect(taskDetails({ ...task, stopCode: 'ENGINE_LOST', stopReason: 'the Docker engine restarted', exitCode: 143 })).toMatch(
      /^Stop code:\s+ENGINE_LOST: the Docker engine restarted$/m,
    );
  });

  it('measures duration from start to finish, or to now while running', () => {
    expect(taskDurationMs(task)).toBe(185_000);
    expect(taskDurationMs({ startedAt: '2021-03-17T09:58:34Z', finishedAt: null }, new Date('2021-03-17T09:59:34Z'))).toBe(60_000);
    expect(taskDurationMs({ startedAt: null, finishedAt: null })).toBeNull();
  });

  it('lists tasks in a table', () => {
    const lines = taskTable([task]).split('\n');
    expect(lines[0]).toMatch(/^ID\s+STATUS\s+COMMAND\s+CREATED\s+DURATION\s+CPU \/ MEMORY$/);
    expect(lines[1]).toMatch(/^55a9b03b7654\s+STOPPED \(EXITED 3\)\s+rake db:migrate\s+2021-03-17 09:58:30\s+3m 05s\s+0.25 vCPU \/ 0.5 GB$/);
    expect(taskTable([])).toBe('No tasks.');
  });

  it('shows every detail of a task', () => {
    const text = taskDetails(task);
    for (const expected of [
      /^Status:\s+STOPPED$/m,
      /^Desired status:\s+STOPPED$/m,
      /^Stop code:\s+EXITED$/m,
      /^Exit code:\s+3$/m,
      /^Started:\s+2021-03-17 09:58:34$/m,
      /^Duration:\s+3m 05s$/m,
      /^Memory:\s+0.5 GB$/m,
      /^Max hours:\s+no limit$/m,
      /^Peak memory:\s+64.0 MiB$/m,
      /^CPU time:\s+1.25s$/m,
      /^Image:\s+busybox:1.36$/m,
      /^Command:\s+rake db:migrate$/m,
      /^Agent:\s+host-1$/m,
      /^Created:\s+2021-03-17 09:58:30 by admin \(initiated by deploy-bot\)$/m,
    ]) {
      expect(text).toMatch(expected);
    }
  });
});

describe('a task from a schedule', () => {
  it('names its schedule and slot, and says nothing of schedules otherwise', () => {
    const scheduleId = '9c1b7e2a4d6f80135a7c9e1b3d5f7a9c';
    expect(taskDetails({ ...task, scheduleId, scheduledFor: '2021-03-17T01:30:00.000Z' })).toMatch(/^Schedule:\s+9c1b7e2a4d6f80135a7c9e1b3d5f7a9c \(slot 2021-03-17 01:30:00 UTC\)$/m);
    expect(taskDetails({ ...task, scheduleId, scheduledFor: null })).toMatch(/^Schedule:\s+9c1b7e2a4d6f80135a7c9e1b3d5f7a9c$/m);
    expect(taskDetails(task)).not.toMatch(/^Schedule:/m);
  });
});

describe('taskDetails: the log', () => {
  it('says what the log holds, and what the log limit dropped', () => {
    const log = { lines: 1200, bytes: 3 * 1024 * 1024, droppedLines: 0, droppedBytes: 0, expiredAt: null };
    expect(taskDetails({ ...task, log })).toMatch(/^Log size:\s+1200 lines, 3\.00 MiB$/m);
    expect(taskDetails({ ...task, log: { ...log, droppedLines: 40, droppedBytes: 2048 } })).toMatch(/^Log size:\s+1200 lines, 3\.00 MiB; 40 lines \(2\.00 KiB\) dropped past the log limit$/m);
    expect(taskDetails({ ...task, log: undefined })).toMatch(/^Log size:\s+-$/m);
  });
});

describe('logTail', () => {
  const lines = Array.from({ length: 25 }, (_, i) => ({ position: i + 1, stream: 'stdout' as const, text: `line ${i + 1}`, at: '2021-03-17T09:58:34Z' }));

  it('shows a short log whole', () => {
    expect(logTail(lines.slice(0, 2), 'tapit show logs task=x')).toBe('Log:\n  2021-03-17 09:58:34 [app] line 1\n  2021-03-17 09:58:34 [app] line 2');
    expect(logTail([], 'x')).toBe('Log: (empty)');
  });

  it('shows the last lines of a longer log, how many there are and where to read the rest', () => {
    const text = logTail(lines.slice(-3), 'tapit show logs task=x').split('\n');
    expect(text).toEqual(['Log, last 3 of 25 lines (all: tapit show logs task=x):', '  2021-03-17 09:58:34 [app] line 23', '  2021-03-17 09:58:34 [app] line 24', '  2021-03-17 09:58:34 [app] line 25']);
  });
});
