// Bundles the built CLI (dist/main.js: oclif, zod, the protocol, every command) into one
// CommonJS file, dist/tapit.cjs, and its early start into dist/early.cjs, so start-up reads and compiles one file instead of hundreds of
// modules; then runs it once so bin/tapit.cjs writes its V8 code cache (see there). oclif needs no
// manifest: it finds the commands in the same, already loaded, file (src/commands.ts).
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outfile = `${root}dist/tapit.cjs`;

await build({
  entryPoints: [`${root}dist/main.js`],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
  // Names this build: bin/tapit.cjs uses a code cache only with the bundle it was made from.
  banner: { js: `// tapit build ${randomUUID()}` },
  minifyWhitespace: true,
  minifySyntax: true,
  // Optional at run time and never used by a built CLI: oclif's TypeScript support for plugins
  // in development, ws's native speed-ups.
  external: ['typescript', 'ts-node', 'bufferutil', 'utf-8-validate'],
});
// The early start of `create task` (src/early/early-create.ts): loaded alone, before the rest.
await build({
  entryPoints: [`${root}dist/early/early-create.js`],
  outfile: `${root}dist/early.cjs`,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
  minifyWhitespace: true,
  minifySyntax: true,
});
rmSync(`${outfile}.v8-cache`, { force: true });
execFileSync(process.execPath, [`${root}bin/tapit.cjs`, 'create', 'task', '--help'], { stdio: 'ignore' });
console.log('dist/tapit.cjs: bundled, code cache written');
