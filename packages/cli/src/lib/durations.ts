import { UsageError } from './errors.js';

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400 } as const;

/** `90s`, `30m`, `24h`, `7d` as seconds; anything else is a usage error naming `key`. */
export function parseDurationSeconds(text: string, key: string): number {
  const match = /^(\d+(?:\.\d+)?)([smhd])$/.exec(text.trim());
  if (!match) throw new UsageError(`Bad value "${text}" for ${key}: must be a duration such as 30m, 24h or 7d`);
  return Math.round(Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS]);
}
