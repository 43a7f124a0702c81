// Build step: the dashboard's client scripts. Every file in src/dashboard/client/entries/ is an
// entry point named by its file (tasks.ts -> tasks), bundled alone (with what it imports from
// npm and client/lib/) into dist/dashboard/assets/NAME-HASH.js; manifest.json maps each name to
// its file. The scheduler serves them itself with a year's cache (src/dashboard/assets.ts): no CDN.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
  // A stylesheet a script imports (xterm.js's) is its text, added by the script: one file per page.
  loader: { '.css': 'text' },
  logLevel: 'warning',
  tsconfig: join(root, 'src/dashboard/client/tsconfig.json'),
});

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const manifest = {};
for (const file of result.outputFiles) {
  if (!file.path.endsWith('.js')) continue;
  const name = basename(file.path, '.js');
  const hashed = `${name}-${createHash('sha256').update(file.contents).digest('hex').slice(0, 12)}.js`;
  writeFileSync(join(out, hashed), file.contents);
  manifest[name] = hashed;
}
writeFileSync(join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`dashboard scripts: ${Object.entries(manifest).map(([name, file]) => `${name} -> ${file}`).join(', ')}`);
