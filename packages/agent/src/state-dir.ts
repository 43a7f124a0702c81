import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from './config.js';

/** What the folder's mode must not have: any access for group or others. */
const SHARED = 0o077;

/**
 * The state folder holds task specs (without their environment: that stays in memory), logs,
 * console screens and the agent's credential: only the agent's user may read it. Created 0700 if missing; an existing one that
 * others can read or enter is refused, with the fix. Files left more open by earlier versions
 * are tightened to 0600 (the agent creates its own so).
 */
export function prepareStateDir(dir: string): void {
  const variable = 'TAPIT_AGENT_STATE_DIR';
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new ConfigError(`${variable}: cannot create ${dir}: ${(error as Error).message}`);
  }
  const stat = lstatSync(dir);
  if (!stat.isDirectory()) throw new ConfigError(`${variable}: ${dir} is not a directory`);
  const mode = stat.mode & 0o777;
  if (mode & SHARED) {
    throw new ConfigError(
      `${variable}: ${dir} can be read or entered by other users (mode ${mode.toString(8).padStart(4, '0')}); it holds task secrets and logs: run chmod 700 ${dir}`,
    );
  }
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const file = lstatSync(path);
    if (file.isFile() && file.mode & SHARED) chmodSync(path, 0o600);
  }
}
