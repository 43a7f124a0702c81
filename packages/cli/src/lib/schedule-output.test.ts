import { ScheduleDetail, type Schedule, type ScheduleRun } from '@tapit/protocol';
import { describe, expect, it } from 'vitest';
import { formatLocal, runHistory, scheduleDetails, scheduleTable, upcomingRuns } from './schedule-output.js';

const schedule: Schedule = {
  id: '9c1b7e2a4d6f80135a7c9e1b3d5f7a9c',
  project: 'shop',
  stage: 'production',
  app: 'web',
  cron: '30 2 * * *',
  timezone: 'Europe/Berlin',
  concurrency: 'forbid',
  missed: 'latest',
  startingDeadlineSeconds: 3600,
  retries: 2,
  task: {
    command: ['/bin/sh', '-c', 'bin/rails db:cleanup'],
    entrypoint: null,
    release: null,
    image: null,
    dockerTag: null,
    cpu: null,
    memoryGb: 1,
    maxHours: null,
    ephemeralStorageGb: null,
    initiatedBy: 'ops',
    constraints: { region: 'eu' },
  },
  suspended: false,
  failing: false,
  nextRunAt: '2021-03-18T01:30:00.000Z',
  lastRun: null,
  webhookUrl: 'https://alerts.example.com/tapit',
  createdBy: 'ops-token',
  createdAt: '2021-03-17T09:58:30.000Z',
};

const failed: ScheduleRun = {
  scheduledFor: '2021-03-17T01:30:00.000Z',
  trigger: 'cron',
  outcome: 'failed',
  reason: 'task 0e4fd1a2b3c4… (attempt 2 of 2) ended OOM_KILLED (exit code 137)',
  attempts: [
    { attempt: 1, taskId: '55a9b03b765446ecb954ccedfc9ea25b', status: 'STOPPED', stopCode: 'EXITED', exitCode: 3 },
    { attempt: 2, taskId: '0e4fd1a2b3c4d5e6f708192a3b4c5d6e', status: 'STOPPED', stopCode: 'OOM_KILLED', exitCode: 137 },
  ],
  nextAttemptAt: null,
  createdAt: '2021-03-17T01:30:00.100Z',
};
const skipped: ScheduleRun = {
  ...failed,
  scheduledFor: '2021-03-17T01:35:00.000Z',
  outcome: 'skipped',
  reason: 'task 55a9b03b7654 was still running (concurrency=forbid)',
  attempts: [],
};

describe('schedule output', () => {
  it('lists schedules with their next and last run, and makes a failing one stand out', () => {
    const lines = scheduleTable([
      { ...schedule, lastRun: { ...failed, outcome: 'succeeded', reason: null } },
      { ...schedule, id: 'ab'.repeat(16), suspended: true, failing: true, nextRunAt: null, lastRun: failed },
    ]).split('\n');
    expect(lines[0]).toMatch(/^ID\s+APP\s+EXPRESSION\s+ZONE\s+NEXT RUN \(UTC\)\s+LAST RUN \(UTC\)\s+OUTCOME\s+SUSPENDED\s+FAILING$/);
    expect(lines[1]).toMatch(/^9c1b7e2a4d6f\s+web\s+30 2 \* \* \*\s+Europe\/Berlin\s+2021-03-18 01:30:00\s+2021-03-17 01:30:00\s+succeeded\s+no\s+no$/);
    expect(lines[2]).toMatch(/^abababababab\s+web\s+30 2 \* \* \*\s+Europe\/Berlin\s+-\s+2021-03-17 01:30:00\s+failed\s+yes\s+FAILING$/);
    expect(scheduleTable([])).toBe('No schedules.');
  });

  it('shows the settings and what each run creates', () => {
    const text = scheduleDetails(schedule);
    for (const expected of [
      /^ID:\s+9c1b7e2a4d6f80135a7c9e1b3d5f7a9c$/m,
      /^App:\s+shop\/production\/web$/m,
      /^Command:\s+bin\/rails db:cleanup$/m,
      /^Cron:\s+30 2 \* \* \*$/m,
      /^Time zone:\s+Europe\/Berlin$/m,
      /^Concurrency:\s+forbid$/m,
      /^Missed runs:\s+latest$/m,
      /^Starting deadline:\s+3600s$/m,
      /^Retries:\s+2$/m,
      /^Suspended:\s+no$/m,
      /^Failing:\s+no$/m,
      /^Next run:\s+2021-03-18 01:30:00 UTC$/m,
      /^Last run:\s+none yet$/m,
      /^Webhook:\s+https:\/\/alerts.example.com\/tapit$/m,
      /^Release:\s+the active release$/m,
      /^CPU:\s+the app's$/m,
      /^Memory:\s+1 GB$/m,
      /^Constraints:\s+region=eu$/m,
      /^Initiated by:\s+ops$/m,
      /^Created:\s+2021-03-17 09:58:30 by ops-token$/m,
    ]) {
      expect(text).toMatch(expected);
    }
    const suspended = scheduleDetails({ ...schedule, suspended: true, failing: true, startingDeadlineSeconds: null, lastRun: failed });
    expect(suspended).toMatch(/^Suspended:\s+yes: no slot fires until tapit resume schedule schedule=9c1b7e2a4d6f80135a7c9e1b3d5f7a9c$/m);
    expect(suspended).toMatch(/^Failing:\s+FAILING: /m);
    expect(suspended).toMatch(/^Starting deadline:\s+none$/m);
    expect(suspended).toMatch(/^Last run:\s+2021-03-17 01:30:00 UTC, failed$/m);
  });

  it('shows the next runs in the zone of the schedule and in UTC', () => {
    expect(formatLocal('2021-03-18T02:30:00+01:00')).toBe('2021-03-18 02:30:00 +01:00');
    expect(formatLocal('2021-03-18T01:30:00.000Z')).toBe('2021-03-18 01:30:00 +00:00');
    expect(formatLocal('tomorrow')).toBe('tomorrow');
    const text = upcomingRuns(schedule, [
      { local: '2021-03-18T02:30:00+01:00', utc: '2021-03-18T01:30:00.000Z' },
      { local: '2021-03-28T03:00:00+02:00', utc: '2021-03-28T01:00:00.000Z' },
    ]).split('\n');
    expect(text).toEqual(['Next runs:', '  LOCAL (Europe/Berlin)       UTC', '  2021-03-18 02:30:00 +01:00  2021-03-18 01:30:00', '  2021-03-28 03:00:00 +02:00  2021-03-28 01:00:00']);
    expect(upcomingRuns({ ...schedule, suspended: true }, [])).toBe('Next runs: none while suspended');
  });

  it('shows each slot of the history with its attempts, their results, and why a slot was skipped', () => {
    const running: ScheduleRun = { ...failed, scheduledFor: '2021-03-17T01:40:00.000Z', trigger: 'manual', outcome: 'retrying', reason: null, nextAttemptAt: '2021-03-17T01:41:00.000Z', attempts: [failed.attempts[0]!] };
    const lines = runHistory([running, skipped, failed]).split('\n');
    expect(lines[0]).toBe('Recent runs, newest first:');
    expect(lines[1]).toMatch(/^ {2}SLOT \(UTC\)\s+TRIGGER\s+OUTCOME\s+ATTEMPT\s+TASK\s+RESULT\s+REASON$/);
    expect(lines[2]).toMatch(/^ {2}2021-03-17 01:40:00\s+manual\s+retrying \(next attempt 2021-03-17 01:41:00 UTC\)\s+1\s+55a9b03b7654\s+STOPPED \(EXITED 3\)$/);
    expect(lines[3]).toMatch(/^ {2}2021-03-17 01:35:00\s+cron\s+skipped\s+-\s+-\s+-\s+task 55a9b03b7654 was still running \(concurrency=forbid\)$/);
    expect(lines[4]).toMatch(/^ {2}2021-03-17 01:30:00\s+cron\s+failed\s+1\s+55a9b03b7654\s+STOPPED \(EXITED 3\)\s+task 0e4fd1a2b3c4… \(attempt 2 of 2\) ended OOM_KILLED \(exit code 137\)$/);
    expect(lines[5]).toMatch(/^ {23}\s+2\s+0e4fd1a2b3c4\s+STOPPED \(OOM_KILLED 137\)$/);
    expect(runHistory([])).toBe('Recent runs: none yet');
  });

  it('reads the protocol example of a schedule detail', () => {
    const detail = ScheduleDetail.parse({ ...schedule, upcoming: [], runs: [failed] });
    expect(runHistory(detail.runs)).toContain('(attempt 2 of 2) ended OOM_KILLED');
  });
});
