import { copyFileSync, cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { PGlite } from '@electric-sql/pglite';

/**
 * What keeps the embedded database small enough for a small server (docs/benchmarks.md, "Memory
 * of the embedded scheduler"). PGlite runs Postgres compiled to WebAssembly inside the
 * scheduler's process, so Postgres' memory is the scheduler's:
 * - shared_buffers 2 MB instead of 128 MB: the files are read through the kernel's page cache
 *   anyway, so a big buffer pool mostly holds the same pages twice (8 MB held 6 MB more when
 *   idle, all of it touched by the first start's migrations);
 * - maintenance_work_mem 16 MB, wal_buffers 1 MB, temp_buffers 1 MB: sized for one user;
 * - WebAssembly compiled by V8's baseline compiler only: optimising Postgres' 8 MB of code takes
 *   50–80 MB of compiler memory and code, for queries the scheduler keeps small.
 */
export const EMBEDDED_START_PARAMS = [
  ...PGlite.defaultStartParams,
  ...['-c', 'shared_buffers=2MB', '-c', 'maintenance_work_mem=16MB', '-c', 'wal_buffers=1MB', '-c', 'temp_buffers=1MB'],
];

/** Before the first WebAssembly compile of this process; affects nothing else. */
export function useBaselineWasmCompiler(): void {
  v8.setFlagsFromString('--liftoff-only');
}

/**
 * One full collection, once the embedded scheduler serves. What the start read and built (PGlite
 * reads Postgres' 9 MB of WebAssembly into one buffer to compile it; the migrations' garbage) is
 * otherwise held until a full collection, which an idle process may not run for minutes: idle
 * after start was 131 MB in some starts and 144 MB in others. V8 exposes no collection to a
 * program without --expose-gc; setting it now gives one to a new context only (as Jest does).
 */
export function collectStartGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

/**
 * A fresh database made at build time (scripts/embedded-template.mjs), copied into an empty data
 * folder: running initdb in the process held 600–870 MB for the first start.
 */
const TEMPLATE_DIR = fileURLToPath(new URL('../../dist/embedded-template', import.meta.url));

/** Seeds `dataDir` from the build's template unless it holds a database; false without a template. */
export function seedFromTemplate(dataDir: string): boolean {
  if (existsSync(join(dataDir, 'PG_VERSION'))) return false;
  if (!existsSync(join(TEMPLATE_DIR, 'PG_VERSION'))) return false;
  // PG_VERSION last: a copy cut short (a full disk, a kill) is seeded again at the next start.
  cpSync(TEMPLATE_DIR, dataDir, { recursive: true, filter: (source) => source !== join(TEMPLATE_DIR, 'PG_VERSION') });
  copyFileSync(join(TEMPLATE_DIR, 'PG_VERSION'), join(dataDir, 'PG_VERSION'));
  return true;
}
