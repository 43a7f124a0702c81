import { describe, expect, it } from 'vitest';
import { Name, TaskId, TaskIdPrefix, Timestamp } from './ids.js';

describe('TaskId', () => {
  it('is 32 lowercase hex characters', () => {
    expect(TaskId.parse('0123456789abcdef0123456789abcdef')).toBe('0123456789abcdef0123456789abcdef');
  });

  it.each([
    ['31 characters', '0123456789abcdef0123456789abcde'],
    ['33 characters', '0123456789abcdef0123456789abcdef0'],
    ['upper case', '0123456789ABCDEF0123456789ABCDEF'],
    ['a non-hex letter', '0123456789abcdeg0123456789abcdef'],
    ['a UUID with dashes', '01234567-89ab-cdef-0123-456789abcdef'],
    ['surrounding space', ' 0123456789abcdef0123456789abcdef'],
    ['a trailing newline', '0123456789abcdef0123456789abcdef\n'],
  ])('refuses %s', (_what, value) => {
    const result = TaskId.safeParse(value);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe('must be 32 lowercase hex characters');
  });

  it('refuses a number', () => {
    expect(TaskId.safeParse(1234).success).toBe(false);
  });
});

describe('TaskIdPrefix', () => {
  it('is 4 to 32 hex characters, as users type them', () => {
    for (const prefix of ['3f2a', '3f2a9c0d', '3f2a9c0d1b4e5f60718293a4b5c6d7e8']) expect(TaskIdPrefix.safeParse(prefix).success).toBe(true);
    for (const prefix of ['3f2', '', '3F2A', '3f2a9c0d1b4e5f60718293a4b5c6d7e80', 'zzzz']) expect(TaskIdPrefix.safeParse(prefix).success).toBe(false);
  });
});

describe('Name', () => {
  it.each(['default', 'web', 'web-1', '1st', 'a', 'x'.repeat(63)])('accepts %s', (name) => {
    expect(Name.safeParse(name).success).toBe(true);
  });

  it.each(['', 'Web', 'web_1', '-web', 'web.internal', 'web 1', 'x'.repeat(64), 'ünï'])('refuses %j', (name) => {
    const result = Name.safeParse(name);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(/^must be 1 to 63 lowercase letters, digits or dashes/);
  });
});

describe('Timestamp', () => {
  it.each(['2021-03-17T09:58:34Z', '2021-03-17T09:58:34.118Z', '2021-03-17T09:58:34.123456Z', '2021-03-17T10:58:34+01:00'])(
    'accepts %s',
    (value) => {
      expect(Timestamp.safeParse(value).success).toBe(true);
    },
  );

  it.each(['2021-03-17T09:58:34', '2021-03-17', '2021-03-17 09:58:34Z', '2021-02-30T00:00:00Z', 'Wed, 17 Mar 2021 09:58:34 GMT', ''])(
    'refuses %j: a time without its zone is ambiguous',
    (value) => {
      expect(Timestamp.safeParse(value).success).toBe(false);
    },
  );
});
