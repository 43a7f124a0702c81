import { describe, expect, it } from 'vitest';
import { interactiveTaskSpec, taskSpec } from '../testing/examples.js';
import { overTheWire, rejectedFields, without } from '../testing/wire.js';
import { TaskSpec } from './task-spec.js';

describe('TaskSpec', () => {
  it('crosses the wire unchanged, with and without entrypoint, env and start time', () => {
    expect(overTheWire(TaskSpec, taskSpec)).toStrictEqual(taskSpec);
    expect(overTheWire(TaskSpec, interactiveTaskSpec)).toStrictEqual(interactiveTaskSpec);
  });

  it('keeps an empty argument, which is not the same command without it', () => {
    const spec = { ...taskSpec, command: ['printf', '%s|', '', 'x'] };
    expect(overTheWire(TaskSpec, spec).command).toEqual(['printf', '%s|', '', 'x']);
  });

  it.each([
    ['taskId', { ...taskSpec, taskId: 'not-a-task-id' }],
    ['image', without(taskSpec, 'image')],
    ['image', { ...taskSpec, image: 'a/../b' }],
    ['image', { ...taskSpec, image: 'a/../../127.0.0.1:9/path' }],
    ['project', { ...taskSpec, project: '../x' }],
    ['readOnly', { ...taskSpec, readOnly: 'yes' }],
    ['entrypoint', without(taskSpec, 'entrypoint')],
    ['entrypoint', { ...taskSpec, entrypoint: '/docker-entrypoint.sh' }],
    ['env.DEBUG', { ...taskSpec, env: { DEBUG: true } }],
    ['labels', { ...taskSpec, labels: null }],
    ['resources', without(taskSpec, 'resources')],
    ['resources.cpu', { ...taskSpec, resources: { ...taskSpec.resources, cpu: 0.001 } }],
    ['startedAt', { ...taskSpec, startedAt: 'now' }],
  ])('is refused with %s to blame', (field, spec) => {
    expect(rejectedFields(TaskSpec, spec)).toEqual([field]);
  });
});
