import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { CreateTaskRequest } from '../api/tasks.js';
import { AgentFrame } from '../agent/frames.js';
import { notFoundError, validationError } from '../testing/examples.js';
import { overTheWire, rejectedFields } from '../testing/wire.js';
import { ApiErrorBody, describeIssues } from './errors.js';

const errorOf = (schema: z.ZodType, value: unknown): z.ZodError => {
  const result = schema.safeParse(value);
  if (result.success) throw new Error(`expected ${JSON.stringify(value)} to be refused`);
  return result.error;
};

describe('ApiErrorBody', () => {
  it('crosses the wire unchanged, with and without the field to blame', () => {
    expect(overTheWire(ApiErrorBody, validationError)).toStrictEqual(validationError);
    expect(overTheWire(ApiErrorBody, notFoundError)).toStrictEqual(notFoundError);
  });

  it.each([
    ['error.code', { error: { ...validationError.error, code: 'TEAPOT' } }],
    ['error.code', { error: { ...validationError.error, code: 'validation_failed' } }],
    ['error.message', { error: { code: 'INTERNAL' } }],
    ['error.field', { error: { ...validationError.error, field: ['memoryGb'] } }],
    ['error', { code: 'INTERNAL', message: 'flat, not nested' }],
  ])('is refused with %s to blame', (field, body) => {
    expect(rejectedFields(ApiErrorBody, body)).toEqual([field]);
  });
});

describe('describeIssues', () => {
  it('gives one `path: message` per issue, with dotted paths and array indexes', () => {
    const error = errorOf(CreateTaskRequest, { args: ['ok', 'a\0b'], memoryGb: 2048 });
    expect(describeIssues(error)).toBe('args.1: must not contain NUL bytes; memoryGb: must be at most 1024 GB');
  });

  it('names the nested field of a frame', () => {
    const error = errorOf(AgentFrame, { type: 'heartbeat', at: 'noon' });
    expect(describeIssues(error)).toMatch(/^at: /);
  });

  it('says which types exist when a frame has an unknown one', () => {
    const error = errorOf(AgentFrame, { type: 'task.explode' });
    expect(describeIssues(error)).toMatch(/^type: .*'hello'.*'task\.exited'/);
  });

  it('gives the message alone when the value itself is wrong', () => {
    expect(describeIssues(errorOf(AgentFrame, 'hello'))).toBe('Invalid input: expected object, received string');
  });

  it('names an unknown key of a request body', () => {
    expect(describeIssues(errorOf(CreateTaskRequest, { command: 'true', memory: 2 }))).toContain('"memory"');
  });

  it('is empty for an error without issues', () => {
    expect(describeIssues(new z.ZodError([]))).toBe('');
  });
});
