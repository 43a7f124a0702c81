// Build step: a fresh embedded database (PGlite's initdb), kept in dist/embedded-template and
// copied into an empty data folder at a scheduler's first start (src/db/embedded-memory.ts), so
// the first start does not hold initdb's 600-870 MB. Made again only when PGlite's version changes.
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { createRequire } from 'node:module';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const target = join(dist, 'embedded-template');
const stamp = join(dist, 'embedded-template.version');
const require = createRequire(import.meta.url);
const version = JSON.parse(readFileSync(join(dirname(require.resolve('@electric-sql/pglite')), '..', 'package.json'), 'utf8')).version;

if (existsSync(join(target, 'PG_VERSION')) && existsSync(stamp) && readFileSync(stamp, 'utf8') === version) process.exit(0);
v8.setFlagsFromString('--liftoff-only'); // initdb's compile memory, as at run time
const { PGlite } = await import('@electric-sql/pglite');
// Made beside its target: a rename cannot cross file systems (a tmpfs /tmp).
const work = mkdtempSync(join(dist, '.embedded-template-'));
try {
  const db = await PGlite.create(join(work, 'data'));
  await db.close();
  rmSync(target, { recursive: true, force: true });
  renameSync(join(work, 'data'), target);
  writeFileSync(stamp, version);
} finally {
  rmSync(work, { recursive: true, force: true });
}
