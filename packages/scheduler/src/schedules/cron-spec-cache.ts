import { parseCronSpec, type CronSpec } from './cron-spec.js';

/** Specs kept: more distinct (expression, zone) pairs than this and the oldest is parsed again. */
const MAX_SPECS = 1000;
const specs = new Map<string, CronSpec>();

/**
 * A stored schedule's spec, parsed once per process: parsing (with its never-fires check) costs a
 * millisecond or more, and a firing of 100 schedules in one second would spend that on each.
 */
export function storedCronSpec(expression: string, timezone: string): CronSpec {
  const key = `${timezone}\n${expression}`;
  let spec = specs.get(key);
  if (spec === undefined) {
    spec = parseCronSpec(expression, timezone);
    if (specs.size >= MAX_SPECS) specs.delete(specs.keys().next().value!);
    specs.set(key, spec);
  }
  return spec;
}
