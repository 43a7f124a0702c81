import { durationSeconds } from '@tapit/protocol/format';
import { UsageError } from './errors.js';

/** `90s`, `30m`, `24h`, `7d` as seconds; anything else is a usage error naming `key`. */
export function parseDurationSeconds(text: string, key: string): number {
  const seconds = durationSeconds(text);
  if (seconds === null) throw new UsageError(`Bad value "${text}" for ${key}: must be a duration such as 30m, 24h or 7d`);
  return seconds;
}
