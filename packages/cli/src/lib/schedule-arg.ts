import { parseIdArg } from './id-arg.js';

/** The schedule id (or unique prefix, which the API resolves) named by `schedule=ID` or a bare `ID`. */
export function parseScheduleArg(argv: readonly string[]): string {
  return parseIdArg(argv, 'schedule');
}

export function schedulePath(id: string, suffix = ''): string {
  return `/v1/schedules/${encodeURIComponent(id)}${suffix}`;
}
