import { TaskIdPrefix } from '@tapit/protocol';
import { parseIdArg } from './id-arg.js';

/** The task id (or unique prefix, which the API resolves) named by `task=ID` or a bare `ID`. */
export function parseTaskArg(argv: readonly string[]): string {
  return parseIdArg(argv, 'task', TaskIdPrefix);
}

export function taskPath(id: string, suffix = ''): string {
  return `/v1/tasks/${encodeURIComponent(id)}${suffix}`;
}
