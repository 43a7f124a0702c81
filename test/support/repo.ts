import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the built binaries are run from here, as a user would after `npm ci`. */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The environment without the caller's TAPIT_* settings, so a developer's login cannot leak into a test. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('TAPIT_')));
  return { ...env, ...extra };
}

/** For beforeAll/afterAll that start processes: vitest's default hook timeout (10 s) is too tight on a busy machine. */
export const HOOK_TIMEOUT_MS = 60_000;

/** SIGTERM, then SIGKILL after 10 s; resolves once the process has exited. */
export async function terminate(child: import('node:child_process').ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
