import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A data folder the scheduler must not use; the message says how to fix it (exit code 2). */
export class DataDirError extends Error {}

const LOCK_FILE = 'tapit-scheduler.lock';

/**
 * The embedded database's folder, made safe to use: created 0700 if missing, refused if other
 * users may read, write or enter it, every file in it 0600 and folder 0700 (PGlite writes its
 * files 0666 whatever the umask), and locked to this process (two processes on one PGlite
 * folder corrupt it: a second scheduler, or `create-admin-token` while one runs).
 */
export function claimDataDir(dir: string): { tighten(): void; release(): void } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = statSync(dir);
  if (!stat.isDirectory()) throw new DataDirError(`TAPIT_DATA_DIR ${dir} is not a folder`);
  const mode = stat.mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new DataDirError(
      `TAPIT_DATA_DIR ${dir} is open to other users (mode ${mode.toString(8).padStart(4, '0')}): run \`chmod 700 ${dir}\`; the scheduler then makes the files in it 0600`,
    );
  }
  const release = lock(dir);
  try {
    tightenModes(dir);
  } catch (error) {
    release();
    throw error;
  }
  return { tighten: () => tightenModes(dir), release };
}

/** Every file below `dir` 0600 and every folder 0700; symbolic links are left alone. */
export function tightenModes(dir: string): void {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    let stat;
    try {
      stat = lstatSync(path);
    } catch {
      continue; // removed meanwhile (PGlite's temporary files)
    }
    if (stat.isSymbolicLink()) continue;
    const wanted = stat.isDirectory() ? 0o700 : 0o600;
    if ((stat.mode & 0o777) !== wanted) chmodSync(path, wanted);
    if (stat.isDirectory()) tightenModes(path);
  }
}

/** The process's identity: its pid and, on Linux, its start time (a reused pid is not it). */
function identity(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return `${pid} ${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]}`;
  } catch {
    if (process.platform === 'linux') return null;
    try {
      process.kill(pid, 0);
      return `${pid}`;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM' ? `${pid}` : null;
    }
  }
}

function lock(dir: string): () => void {
  const path = join(dir, LOCK_FILE);
  const mine = identity(process.pid) ?? `${process.pid}`;
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(path, mine, { flag: 'wx', mode: 0o600 });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
      const holder = readFileSync(path, 'utf8').trim();
      const pid = Number(holder.split(' ')[0]);
      if (Number.isInteger(pid) && pid > 0 && identity(pid) === holder) {
        throw new DataDirError(
          `the embedded database in ${dir} is in use by process ${pid}${pid === process.pid ? ' (this one)' : ''}: stop it first`,
        );
      }
      unlinkSync(path); // left by a process that is gone
    }
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    try {
      if (readFileSync(path, 'utf8').trim() === mine) unlinkSync(path);
    } catch {
      // already gone
    }
  };
}
