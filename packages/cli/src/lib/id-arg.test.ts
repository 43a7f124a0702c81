import { describe, expect, it } from 'vitest';
import { UsageError } from './errors.js';
import { parseScheduleArg } from './schedule-arg.js';
import { parseTaskArg } from './task-arg.js';

function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof UsageError) return error.message;
    throw error;
  }
  throw new Error('expected a UsageError');
}

describe('id arguments', () => {
  it('takes NOUN=ID or a bare id, in either case', () => {
    expect(parseScheduleArg(['schedule=9C1B7E2A'])).toBe('9c1b7e2a');
    expect(parseScheduleArg(['9c1b7e2a'])).toBe('9c1b7e2a');
    expect(parseTaskArg(['task=55a9b03b'])).toBe('55a9b03b');
  });

  it('refuses a missing, short or non-hex id, naming the kind of id', () => {
    expect(failure(() => parseScheduleArg([]))).toBe('Missing key "schedule": give schedule=ID, an id or a unique prefix of at least 4 characters');
    expect(failure(() => parseScheduleArg(['schedule=9c1']))).toBe('Invalid schedule "9c1": must be 4 to 32 lowercase hex characters of a schedule id');
    expect(failure(() => parseTaskArg(['task=xyz']))).toBe('Invalid task "xyz": must be 4 to 32 lowercase hex characters of a task id');
    expect(failure(() => parseScheduleArg(['task=9c1b7e2a']))).toBe('Invalid schedule "task=9c1b7e2a": must be 4 to 32 lowercase hex characters of a schedule id');
  });
});
