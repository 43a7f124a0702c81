import { CreateAppRequest, CreateTaskRequest, Name, UpdateAgentRequest } from '@tapit/protocol';
import { describe, expect, it } from 'vitest';
import { UsageError } from './errors.js';
import { parseKeyValues, parseNamedRequest, parseRequest, type KeyValueSpec } from './key-values.js';
import { CREATE_TASK_KEYS } from './task-keys.js';

const APP_KEYS: KeyValueSpec = {
  positional: { field: 'name', name: 'app name', required: true },
  keys: {
    image: { field: 'image', type: 'string', required: true },
    max_hours: { field: 'maxHours', type: 'number', nullable: true },
    record_input: { field: 'recordInput', type: 'boolean' },
  },
};

function failure(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error('expected a UsageError');
}

describe('parseKeyValues', () => {
  it('maps CLI keys to request fields and converts numbers', () => {
    const { body } = parseKeyValues(['rails db:migrate', 'memory=4.0', 'cpu=2', 'docker_tag=v1.2.3'], CREATE_TASK_KEYS);
    expect(body).toEqual({ command: 'rails db:migrate', memoryGb: 4, cpu: 2, dockerTag: 'v1.2.3' });
  });

  it('takes a command that looks like an assignment as the command', () => {
    expect(parseKeyValues(['A=1 env'], CREATE_TASK_KEYS).body).toEqual({ command: 'A=1 env' });
    expect(parseKeyValues(['a=1; echo $a', 'cpu=1'], CREATE_TASK_KEYS).body).toEqual({ command: 'a=1; echo $a', cpu: 1 });
  });

  it('keeps everything after the first = in the value', () => {
    expect(parseKeyValues(['x', 'initiated_by=a=b'], CREATE_TASK_KEYS).body.initiatedBy).toBe('a=b');
  });

  it('rejects an unknown key with one line naming the allowed keys', () => {
    const error = failure(() => parseKeyValues(['echo', 'foo=1'], CREATE_TASK_KEYS));
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe('Unknown key "foo": allowed keys are memory, cpu, docker_tag, image, release, max_hours, initiated_by, ephemeral_storage_gb, constraint, env');
    expect(error.message).not.toContain('\n');
  });

  it('rejects a missing required key, a repeated key and a second bare word', () => {
    expect(failure(() => parseKeyValues(['web'], APP_KEYS)).message).toMatch(/^Missing key "image": required key is image; allowed keys are image, max_hours, record_input$/);
    expect(failure(() => parseKeyValues(['x', 'cpu=1', 'cpu=2'], CREATE_TASK_KEYS)).message).toBe('Key "cpu" given twice');
    expect(failure(() => parseKeyValues(['x', 'y'], CREATE_TASK_KEYS)).message).toMatch(/^Unexpected argument "y": allowed keys are memory/);
  });

  it('rejects a missing bare word and stray flags', () => {
    expect(failure(() => parseKeyValues(['memory=1'], CREATE_TASK_KEYS)).message).toBe('Missing command: give it as the first argument');
    expect(failure(() => parseKeyValues(['x', '--wiat'], CREATE_TASK_KEYS)).message).toMatch(/^Unknown flag "--wiat"/);
  });

  it('gathers a repeated labels key into one object', () => {
    const { body } = parseKeyValues(['x', 'constraint=region=eu', 'constraint=gpu=true'], CREATE_TASK_KEYS);
    expect(body.constraints).toEqual({ region: 'eu', gpu: 'true' });
    expect(parseKeyValues(['x', 'constraint=none'], CREATE_TASK_KEYS).body.constraints).toEqual({});
    expect(failure(() => parseKeyValues(['x', 'constraint=region'], CREATE_TASK_KEYS)).message).toBe('Bad constraint=region: "region" must be KEY=VALUE, e.g. region=eu');
    expect(failure(() => parseKeyValues(['x', 'constraint=region=eu', 'constraint=region=us'], CREATE_TASK_KEYS)).message).toBe('constraint= gives region twice, as eu and us');
    expect(failure(() => parseKeyValues(['x', 'constraint=region=eu', 'constraint=none'], CREATE_TASK_KEYS)).message).toMatch(/cannot be combined/);
  });

  it('gathers repeated env=KEY=VALUE into one object, splitting at the first =, and names a bad name with the rule, never the value', () => {
    const { body, typed } = parseKeyValues(['x', 'env=A=1', 'env=DATABASE_URL=postgres://u:p@h/db?x=y', 'env=EMPTY='], CREATE_TASK_KEYS);
    expect(body.env).toEqual({ A: '1', DATABASE_URL: 'postgres://u:p@h/db?x=y', EMPTY: '' });
    expect(typed.env).toBe('A DATABASE_URL EMPTY');
    expect(failure(() => parseKeyValues(['x', 'env=1BAD=hidden-value'], CREATE_TASK_KEYS)).message).toBe('Bad env=: env var name "1BAD" must be a POSIX environment variable name: a letter or _, then letters, digits or _, at most 255 characters (e.g. DATABASE_URL)');
    expect(failure(() => parseKeyValues(['x', 'env=NOVALUE'], CREATE_TASK_KEYS)).message).toBe('Bad env="NOVALUE": give KEY=VALUE, e.g. RAILS_ENV=production');
    expect(failure(() => parseKeyValues(['x', 'env=A=1', 'env=A=2'], CREATE_TASK_KEYS)).message).toBe('env= gives A twice');
    expect(failure(() => parseKeyValues(['x', 'env=1BAD=hidden-value'], CREATE_TASK_KEYS)).message).not.toContain('hidden-value');
  });

  it('sends null for none on nullable keys only', () => {
    expect(parseKeyValues(['web', 'image=busybox', 'max_hours=none'], APP_KEYS).body.maxHours).toBeNull();
    expect(parseKeyValues(['x', 'max_hours=none'], CREATE_TASK_KEYS).body.maxHours).toBe('none');
  });
});

describe('parseNamedRequest', () => {
  const AGENT_KEYS = {
    positional: { field: 'name', name: 'agent name', required: true },
    keys: { cpu: { field: 'cpu', type: 'number', nullable: true, nullWord: 'auto' } },
  } satisfies KeyValueSpec;

  it('checks the name and the keys each with its schema, naming what was typed', () => {
    expect(parseNamedRequest(Name, UpdateAgentRequest, ['host-a', 'cpu=auto'], AGENT_KEYS)).toEqual({ name: 'host-a', request: { cpu: null } });
    expect(failure(() => parseNamedRequest(Name, UpdateAgentRequest, ['Host A', 'cpu=2'], AGENT_KEYS)).message).toMatch(/^Invalid agent name "Host A": must be/);
    expect(failure(() => parseNamedRequest(Name, UpdateAgentRequest, ['host-a', 'cpu=1e6'], AGENT_KEYS)).message).toBe('Invalid value "1e6" for cpu: must be at most 1024 vCPUs');
  });

  it('names the keys it takes when none was given, not the API fields', () => {
    const keys = { ...AGENT_KEYS, keys: { ...AGENT_KEYS.keys, drained: { field: 'drained', type: 'boolean' } } } satisfies KeyValueSpec;
    expect(failure(() => parseNamedRequest(Name, UpdateAgentRequest, ['host-a'], keys)).message).toBe('Nothing to change: give cpu=… or drained=…');
  });
});

describe('parseRequest', () => {
  it('validates with the protocol schema and names the key, not the field', () => {
    expect(failure(() => parseRequest(CreateTaskRequest, ['x', 'memory=lots'], CREATE_TASK_KEYS)).message).toBe(
      'Invalid value "lots" for memory: must be a number of GB from 0.004 to 1024',
    );
    expect(failure(() => parseRequest(CreateTaskRequest, ['x', 'cpu=-1'], CREATE_TASK_KEYS)).message).toBe('Invalid value "-1" for cpu: must be at least 0.01 vCPUs');
    expect(failure(() => parseRequest(CreateTaskRequest, ['x', 'max_hours=0'], CREATE_TASK_KEYS)).message).toMatch(/^Invalid value "0" for max_hours: must be at least/);
    expect(failure(() => parseRequest(CreateTaskRequest, ['x', 'docker_tag=a b'], CREATE_TASK_KEYS)).message).toMatch(/^Invalid value "a b" for docker_tag: tag "a b" must be 1 to 128 letters/);
    expect(failure(() => parseRequest(CreateAppRequest, ['Web', 'image=busybox'], APP_KEYS)).message).toMatch(/^Invalid app name "Web": must be 1 to 63 lowercase/);
    expect(failure(() => parseRequest(CreateAppRequest, ['web', 'image=a/../b'], APP_KEYS)).message).toMatch(/^Invalid value "a\/\.\.\/b" for image: "\.\." is not a valid part of an image name/);
  });

  it('quotes what was typed as JSON, so a control character shows instead of acting', () => {
    expect(failure(() => parseRequest(CreateTaskRequest, ['x', 'initiated_by=a\rb\u001b[2J'], CREATE_TASK_KEYS)).message).toBe(
      'Invalid value "a\\rb\\u001b[2J" for initiated_by: must not contain control characters (escape sequences, tabs, line breaks)',
    );
  });

  it('takes true or false for a yes/no key, and names both when given anything else', () => {
    expect(parseRequest(CreateAppRequest, ['web', 'image=busybox', 'record_input=true'], APP_KEYS).recordInput).toBe(true);
    expect(parseRequest(CreateAppRequest, ['web', 'image=busybox', 'record_input=false'], APP_KEYS).recordInput).toBe(false);
    expect(failure(() => parseRequest(CreateAppRequest, ['web', 'image=busybox', 'record_input=yes'], APP_KEYS)).message).toBe(
      'Invalid value "yes" for record_input: must be true or false',
    );
  });

  it('returns the parsed request with defaults and extras', () => {
    const request = parseRequest(CreateTaskRequest, ['echo hi', 'ephemeral_storage_gb=2', 'initiated_by=ci'], CREATE_TASK_KEYS);
    expect(request).toEqual({ command: 'echo hi', ephemeralStorageGb: 2, initiatedBy: 'ci', kind: 'background' });
  });
});
