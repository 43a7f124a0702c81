#!/usr/bin/env node
// Most of a short command's time is start-up, so the CLI is one bundled file (dist/tapit.cjs,
// see scripts/bundle.mjs) compiled from a V8 code cache kept next to it: Node 20 has no compile
// cache of its own. The cache is written at build and rewritten by the first run after a Node
// upgrade makes V8 reject it; where it cannot be written, the bundle is simply compiled.
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

const bundle = fileURLToPath(new URL('../dist/tapit.cjs', import.meta.url));
const cacheFile = `${bundle}.v8-cache`;

// V8 checks a cache against the source's length only: the cache names the build it belongs to.
const { size, mtimeMs } = statSync(bundle);
const stamp = Buffer.from(`${size}:${mtimeMs}\n`);
let cachedData;
try {
  const file = readFileSync(cacheFile);
  if (file.subarray(0, stamp.length).equals(stamp)) cachedData = file.subarray(stamp.length);
} catch {
  // no cache yet
}
const script = new Script(Module.wrap(readFileSync(bundle, 'utf8')), { filename: bundle, cachedData });
if (!cachedData || script.cachedDataRejected) {
  // After the run, so the functions it compiled lazily are in the cache too.
  process.once('exit', () => {
    try {
      const temp = `${cacheFile}.${process.pid}`;
      writeFileSync(temp, Buffer.concat([stamp, script.createCachedData()]));
      renameSync(temp, cacheFile);
    } catch {
      // read-only install: start-up stays correct, only slower
    }
  });
}

// Loaded as Node loads a CommonJS file, and registered under its path: oclif requires the same
// file for its COMMANDS and must get this instance, not a second copy.
const module = new Module(bundle);
module.filename = bundle;
module.paths = Module._nodeModulePaths(dirname(bundle));
Module._cache[bundle] = module;
script.runInThisContext()(module.exports, Module.createRequire(bundle), module, bundle, dirname(bundle));
module.loaded = true;

await module.exports.main(process.argv.slice(2), bundle);
