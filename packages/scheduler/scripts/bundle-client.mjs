// Build step: the dashboard's client scripts. Every file in src/dashboard/client/entries/ is an
// entry point named by its file (tasks.ts -> tasks), bundled alone (with what it imports from
// npm and client/lib/) into dist/dashboard/assets/NAME-HASH.js (and NAME-HASH.css if it imports
// CSS), with a gzipped copy NAME-HASH.js.gz; manifest.json maps each name to its file. The scheduler serves them itself with a year's cache (src/dashboard/assets.ts): no CDN.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants, gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const entries = join(root, 'src/dashboard/client/entries');
const out = join(root, 'dist/dashboard/assets');

const names = readdirSync(entries).filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts')).sort();
const result = await build({
  entryPoints: Object.fromEntries(names.map((file) => [basename(file, '.ts'), join(entries, file)])),
  bundle: true,
  write: false,
  outdir: out,
  format: 'esm',
  platform: 'browser',
  target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
  minify: true,
  // A module script per page: a shared chunk would be one more request, and the entries are small.
  splitting: false,
  legalComments: 'none',
  logLevel: 'warning',
  tsconfig: join(root, 'src/dashboard/client/tsconfig.json'),
});

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
// `tasks` -> tasks-HASH.js; an entry that imports CSS (a library's stylesheet) also gets
// `NAME.css` -> NAME-HASH.css, which its pages link (dashboard/layout.tsx).
const manifest = {};
for (const file of result.outputFiles) {
  const ext = file.path.endsWith('.js') ? 'js' : file.path.endsWith('.css') ? 'css' : undefined;
  if (!ext) continue;
  const name = basename(file.path, `.${ext}`);
  const hashed = `${name}-${createHash('sha256').update(file.contents).digest('hex').slice(0, 12)}.${ext}`;
  writeFileSync(join(out, hashed), file.contents);
  // Gzipped here, once, for browsers that take it: the scheduler is often reached without a
  // proxy that would compress (xterm.js is ~350 KB, ~90 KB gzipped).
  writeFileSync(join(out, `${hashed}.gz`), gzipSync(file.contents, { level: constants.Z_BEST_COMPRESSION }));
  manifest[ext === 'js' ? name : `${name}.css`] = hashed;
}
writeFileSync(join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`dashboard scripts: ${Object.entries(manifest).map(([name, file]) => `${name} -> ${file}`).join(', ')}`);
