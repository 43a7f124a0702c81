import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The environment that runs a process on a skewed clock (`offset`, e.g. `+600s`): Debian's
 * libfaketime preloaded, as the `faketime` wrapper would, but without the wrapper. The wrapper
 * is a parent process that a SIGTERM ends alone: the program under it lives on, orphaned, and the
 * semaphore the wrapper named after its own PID stays in /dev/shm, so a later wrapper given that
 * PID refuses to start (`faketime: sem_open: File exists`, a CI failure).
 */
export function skewedClockEnv(offset: string): Record<string, string> {
  return { LD_PRELOAD: libfaketime(), FAKETIME: offset };
}

/** Where Debian installs libfaketime: /usr/lib/<the machine's triplet>/faketime/. */
function libfaketime(): string {
  for (const triplet of readdirSync('/usr/lib')) {
    const path = join('/usr/lib', triplet, 'faketime', 'libfaketime.so.1');
    if (existsSync(path)) return path;
  }
  throw new Error('libfaketime is not installed (scripts/test-services.sh installs Debian\'s faketime)');
}
