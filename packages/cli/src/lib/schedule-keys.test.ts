import { CreateScheduleRequest } from '@tapit/protocol';
import { describe, expect, it } from 'vitest';
import { UsageError } from './errors.js';
import { parseRequest } from './key-values.js';
import { CREATE_SCHEDULE_KEYS } from './schedule-keys.js';

const parse = (...args: string[]) => parseRequest(CreateScheduleRequest, args, CREATE_SCHEDULE_KEYS);

function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof UsageError && error.exitCode === 2) return error.message;
    throw error;
  }
  throw new Error('expected a UsageError');
}

describe('create schedule keys', () => {
  it('maps the schedule keys and every key of create task to the request', () => {
    expect(
      parse(
        'bin/cleanup --all',
        'cron=*/5 * * * * *',
        'timezone=Europe/Berlin',
        'concurrency=replace',
        'missed=latest',
        'starting_deadline=300',
        'retries=3',
        'webhook=http://127.0.0.1:9/hook',
        'memory=1.5',
        'cpu=0.5',
        'docker_tag=v2',
        'max_hours=2',
        'initiated_by=ops',
        'ephemeral_storage_gb=4',
        'release=7',
        'constraint=region=eu',
      ),
    ).toEqual({
      command: 'bin/cleanup --all',
      cron: '*/5 * * * * *',
      timezone: 'Europe/Berlin',
      concurrency: 'replace',
      missed: 'latest',
      startingDeadlineSeconds: 300,
      retries: 3,
      webhookUrl: 'http://127.0.0.1:9/hook',
      memoryGb: 1.5,
      cpu: 0.5,
      dockerTag: 'v2',
      maxHours: 2,
      initiatedBy: 'ops',
      ephemeralStorageGb: 4,
      release: 7,
      constraints: { region: 'eu' },
    });
    expect(parse('true', 'cron=@daily', 'starting_deadline=none')).toEqual({ command: 'true', cron: '@daily', startingDeadlineSeconds: null });
  });

  it('refuses a bad key or value with one line naming the key and what it takes', () => {
    const cases: [string[], string][] = [
      [['x', 'cron=@daily', 'concurrency=sometimes'], 'Invalid value "sometimes" for concurrency: allowed values are allow, forbid, replace'],
      [['x', 'cron=@daily', 'missed=all'], 'Invalid value "all" for missed: allowed values are skip, latest'],
      [['x', 'cron=@daily', 'retries=-1'], 'Invalid value "-1" for retries: must be a whole number from 0 to 10'],
      [['x', 'cron=@daily', 'retries=11'], 'Invalid value "11" for retries: must be a whole number from 0 to 10'],
      [['x', 'cron=@daily', 'retries=1.5'], 'Invalid value "1.5" for retries: must be a whole number from 0 to 10'],
      [['x', 'cron=@daily', 'starting_deadline=abc'], 'Invalid value "abc" for starting_deadline: must be a whole number of seconds from 1 to 31622400, or none'],
      [['x', 'cron=@daily', 'starting_deadline=0'], 'Invalid value "0" for starting_deadline: must be a whole number of seconds from 1 to 31622400, or none'],
      [['x', 'cron=@daily', 'webhook=ftp://host/x'], 'Invalid value "ftp://host/x" for webhook: must be an http:// or https:// URL'],
      [['x', 'cron=@daily', 'release=0'], 'Invalid value "0" for release: must be a release number (1, 2, …; tapit list releases shows them)'],
      [['x', 'cron=@daily', 'memory=lots'], 'Invalid value "lots" for memory: must be a number of GB from 0.004 to 1024'],
      [['x', 'cron='], 'Invalid value "" for cron: must not be empty'],
      [['x'], 'Missing key "cron": required key is cron; allowed keys are cron, timezone, concurrency, missed, starting_deadline, retries, webhook, memory, cpu, docker_tag, image, release, max_hours, initiated_by, ephemeral_storage_gb, constraint'],
      [['x', 'cron=@daily', 'every=5m'], 'Unknown key "every": allowed keys are cron, timezone, concurrency, missed, starting_deadline, retries, webhook, memory, cpu, docker_tag, image, release, max_hours, initiated_by, ephemeral_storage_gb, constraint'],
      [['cron=@daily'], 'Missing command: give it as the first argument'],
    ];
    for (const [args, message] of cases) expect(failure(() => parse(...args))).toBe(message);
  });
});
