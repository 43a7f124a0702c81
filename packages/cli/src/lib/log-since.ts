import { Timestamp } from '@tapit/protocol';
import { parseDurationSeconds } from './durations.js';
import { UsageError } from './errors.js';

/**
 * `show logs --since`: a duration ago (`10m`, as kubectl and docker take it) or a timestamp
 * with its zone, as the ISO timestamp the API filters by.
 */
export function parseSince(text: string, key: string, now = Date.now()): string {
  if (/^\d+(\.\d+)?[smhd]$/.test(text.trim())) return new Date(now - parseDurationSeconds(text, key) * 1000).toISOString();
  if (Timestamp.safeParse(text).success) return text;
  throw new UsageError(`Bad value "${text}" for ${key}: must be a duration such as 30s, 10m or 2h, or a timestamp such as 2026-11-30T17:00:00Z`);
}
