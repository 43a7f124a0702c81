import { describe, expect, it } from 'vitest';
import { createExecTask, createImageTask, createShellTask, provisioningTask, task, taskList } from '../testing/examples.js';
import { overTheWire, rejectedFields, without } from '../testing/wire.js';
import { CreateTaskRequest, ListTasksQuery, Task, TaskList } from './tasks.js';

describe('CreateTaskRequest', () => {
  it.each([
    ['a shell line', createShellTask],
    ['an argument vector', createExecTask],
    ['another image', createImageTask],
  ])('crosses the wire unchanged with %s', (_what, body) => {
    expect(overTheWire(CreateTaskRequest, body)).toStrictEqual(body);
  });

  it('runs in the background unless told otherwise, and adds nothing else', () => {
    expect(CreateTaskRequest.parse({ command: 'true' })).toStrictEqual({ command: 'true', kind: 'background' });
  });

  describe('takes exactly one of command and args', () => {
    it('refuses neither, blaming command', () => {
      expect(rejectedFields(CreateTaskRequest, { kind: 'background' })).toEqual(['command']);
      expect(rejectedFields(CreateTaskRequest, without(createShellTask, 'command'))).toEqual(['command']);
    });

    it('refuses both, blaming command and saying what each is', () => {
      const result = CreateTaskRequest.safeParse({ ...createShellTask, args: ['bin/rails', 'db:migrate'] });
      expect(result.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
        ['command', 'give exactly one of command (a shell command line) or args (an argument vector)'],
      ]);
    });

    it('refuses an empty command line or argument vector', () => {
      expect(rejectedFields(CreateTaskRequest, { command: '' })).toEqual(['command']);
      expect(rejectedFields(CreateTaskRequest, { args: [] })).toEqual(['args']);
    });

    it('accepts empty arguments inside a vector: they are arguments too', () => {
      expect(CreateTaskRequest.parse({ args: ['printf', '%s', ''] }).args).toEqual(['printf', '%s', '']);
    });
  });

  it('refuses image together with release, blaming image', () => {
    const result = CreateTaskRequest.safeParse({ ...createImageTask, release: 2 });
    expect(result.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['image', 'image and release cannot be combined: image replaces the release image'],
    ]);
    expect(rejectedFields(CreateTaskRequest, { ...createExecTask, image: 'busybox:1.36' })).toEqual(['image']);
  });

  it('accepts release with a docker tag: the tag replaces the release image tag', () => {
    expect(rejectedFields(CreateTaskRequest, { ...createExecTask, dockerTag: 'hotfix-1' })).toEqual([]);
  });

  describe('refuses a NUL byte, which no exec call can pass on', () => {
    it.each([
      ['command', { command: 'echo a\0b' }],
      ['args.2', { args: ['echo', 'a', '\0'] }],
      ['entrypoint.0', { command: 'true', entrypoint: ['/bin/\0sh'] }],
    ])('in %s', (field, body) => {
      expect(rejectedFields(CreateTaskRequest, body)).toEqual([field]);
    });
  });

  it.each([
    ['command', { ...createShellTask, command: ['bin/rails', 'db:migrate'] }],
    ['command', { ...createShellTask, command: 'x'.repeat(65537) }],
    ['args.0', { ...createExecTask, args: [42] }],
    ['args', { ...createExecTask, args: Array.from({ length: 4097 }, () => 'x') }],
    ['entrypoint', { ...createExecTask, entrypoint: '/usr/bin/env' }],
    ['entrypoint', { ...createExecTask, entrypoint: Array.from({ length: 65 }, () => 'x') }],
    ['kind', { ...createShellTask, kind: 'detached' }],
    ['release', { ...createExecTask, release: 0 }],
    ['release', { ...createExecTask, release: '2' }],
    ['dockerTag', { ...createShellTask, dockerTag: 'has space' }],
    ['dockerTag', { ...createShellTask, dockerTag: '.hidden' }],
    ['dockerTag', { ...createShellTask, dockerTag: 'x'.repeat(129) }],
    ['image', { ...createImageTask, image: 'busy box' }],
    ['cpu', { ...createShellTask, cpu: 0 }],
    ['cpu', { ...createShellTask, cpu: 65 }],
    ['cpu', { ...createShellTask, cpu: '1' }],
    ['memoryGb', { ...createShellTask, memoryGb: 0.001 }],
    ['memoryGb', { ...createShellTask, memoryGb: 1025 }],
    ['maxHours', { ...createShellTask, maxHours: 0 }],
    ['maxHours', { ...createShellTask, maxHours: 8761 }],
    ['maxHours', { ...createShellTask, maxHours: null }],
    ['ephemeralStorageGb', { ...createShellTask, ephemeralStorageGb: -1 }],
    ['initiatedBy', { ...createShellTask, initiatedBy: '' }],
    ['initiatedBy', { ...createShellTask, initiatedBy: 'x'.repeat(201) }],
    ['initiatedBy', { ...createShellTask, initiatedBy: 'deploy\u001b]52;c;aGk=\u0007' }],
    ['initiatedBy', { ...createShellTask, initiatedBy: 'deploy\rbot' }],
    ['initiatedBy', { ...createShellTask, initiatedBy: 'bot\u009b2J' }],
    ['initiatedBy', { ...createShellTask, initiatedBy: 'bot\u007f' }],
    // A misspelt option must not be dropped silently: the user would run without it.
    ['memory', { ...createShellTask, memory: 2 }],
    ['docker_tag', { ...createShellTask, docker_tag: '1.4.3' }],
  ])('is refused with %s to blame', (field, body) => {
    expect(rejectedFields(CreateTaskRequest, body)).toEqual([field]);
  });
});


describe('Task', () => {
  it('crosses the wire unchanged, finished or just created', () => {
    expect(overTheWire(Task, task)).toStrictEqual(task);
    expect(overTheWire(Task, provisioningTask)).toStrictEqual(provisioningTask);
  });

  it.each([
    ['id', { ...task, id: '3f2a9c0d' }],
    ['id', { ...task, id: task.id.toUpperCase() }],
    ['status', { ...task, status: 'DONE' }],
    ['desiredStatus', { ...task, desiredStatus: 'STOPPING' }],
    ['stopCode', { ...task, stopCode: 'KILLED' }],
    ['exitCode', { ...task, exitCode: 0.5 }],
    ['resources.memoryGb', { ...task, resources: { ...task.resources, memoryGb: 4096 } }],
    ['usage', without(task, 'usage')],
    ['createdBy', without(task, 'createdBy')],
    ['finishedAt', { ...task, finishedAt: '17.03.2021' }],
    ['command', { ...task, command: 'bin/rails db:migrate' }],
  ])('is refused with %s to blame', (field, value) => {
    expect(rejectedFields(Task, value)).toEqual([field]);
  });
});

describe('TaskList', () => {
  it('crosses the wire unchanged and names a bad item by index', () => {
    expect(overTheWire(TaskList, taskList)).toStrictEqual(taskList);
    expect(rejectedFields(TaskList, { ...taskList, items: [task, { ...task, kind: 'cron' }] })).toEqual(['items.1.kind']);
    expect(rejectedFields(TaskList, without(taskList, 'nextCursor'))).toEqual(['nextCursor']);
  });
});

describe('ListTasksQuery', () => {
  it('reads URL query values: statuses as a comma list, limit as a number', () => {
    expect(ListTasksQuery.parse({ project: 'shop', status: 'RUNNING,PENDING', limit: '10', cursor: 'abc' })).toStrictEqual({
      project: 'shop',
      status: ['RUNNING', 'PENDING'],
      limit: 10,
      cursor: 'abc',
    });
  });

  it('returns 50 tasks unless told otherwise', () => {
    expect(ListTasksQuery.parse({})).toStrictEqual({ limit: 50 });
  });

  it.each([
    ['status.1', { status: 'RUNNING,DONE' }],
    ['status.0', { status: 'running' }],
    ['limit', { limit: '0' }],
    ['limit', { limit: '501' }],
    ['limit', { limit: 'ten' }],
    ['app', { app: 'Web' }],
    ['cursor', { cursor: 'c'.repeat(201) }],
    ['sort', { sort: 'asc' }],
  ])('is refused with %s to blame', (field, query) => {
    expect(rejectedFields(ListTasksQuery, query)).toEqual([field]);
  });
});

describe('TaskFile', () => {
  const file = { path: '/app/fix.rb', mode: 0o644, content: 'cHV0cyAxCg==' };

  it('takes a file for an absolute path, with its mode and base64 bytes', () => {
    expect(CreateTaskRequest.parse({ command: 'ruby /app/fix.rb', files: [file] }).files).toStrictEqual([file]);
  });

  it.each([
    ['files.0.path', { ...file, path: 'app/fix.rb' }],
    ['files.0.path', { ...file, path: '/app/../etc/passwd' }],
    ['files.0.path', { ...file, path: '/app//fix.rb' }],
    ['files.0.path', { ...file, path: '/app/' }],
    ['files.0.path', { ...file, path: '/' }],
    ['files.0.path', { ...file, path: '/app/fix\0.rb' }],
    ['files.0.mode', { ...file, mode: 0o10000 }],
    ['files.0.content', { ...file, content: 'not base64!' }],
    ['files.0.content', { ...file, content: 'cHV0cyAxCg' }],
  ])('is refused with %s to blame', (field, bad) => {
    expect(rejectedFields(CreateTaskRequest, { command: 'true', files: [bad] })).toEqual([field]);
  });

  it('refuses two files at one path', () => {
    expect(rejectedFields(CreateTaskRequest, { command: 'true', files: [file, file] })).toEqual(['files']);
  });
});
