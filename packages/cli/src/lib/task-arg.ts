import { TaskIdPrefix } from '@tapit/protocol';
import { z } from 'zod';
import { UsageError } from './errors.js';
import { parseKeyValues, type KeyValueSpec } from './key-values.js';
import { validateRequest } from './validate.js';

/** `task=ID` as the tapit docs write it, or a bare `ID` as SetOps does. */
const TASK_ARG: KeyValueSpec = {
  positional: { field: 'task', name: 'task', required: false },
  keys: { task: { field: 'task', type: 'string' } },
};

const TaskArg = z.object({ task: TaskIdPrefix });

/** The task id (or unique prefix, which the API resolves) named by a command's arguments. */
export function parseTaskArg(argv: readonly string[]): string {
  const { body, typed } = parseKeyValues(argv, TASK_ARG);
  if (body.task === undefined) throw new UsageError('Missing key "task": give task=ID, an id or a unique prefix of at least 4 characters');
  // Ids are lowercase hex; accept them as pasted from anywhere.
  const task = String(body.task).toLowerCase();
  return validateRequest(TaskArg, { task }, () => `task "${typed.task}"`).task;
}

export function taskPath(id: string, suffix = ''): string {
  return `/v1/tasks/${encodeURIComponent(id)}${suffix}`;
}
