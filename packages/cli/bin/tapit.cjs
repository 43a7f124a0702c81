#!/usr/bin/env node
// The CLI's entry, which the `tapit` launcher beside it runs. CommonJS, not an ES module: Node 20
// takes ~7 ms longer to start one (its module loader), and this file starts every command.
// Most of a short command's time is start-up, so the CLI is one bundled file (dist/tapit.cjs,
// see scripts/bundle.mjs) compiled from a V8 code cache kept next to it: Node 20 has no compile
// cache of its own. The cache is written at build and rewritten by the first run after a Node
// upgrade makes V8 reject it; where it cannot be written, the bundle is simply compiled.
'use strict';
const { accessSync, constants, readFileSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const { dirname, join } = require('node:path');
const vm = require('node:vm');

const argv = process.argv.slice(2);

void (async () => {
  // `create task CMD`: the create is sent before the CLI loads, the CLI adopts its answer
  // (src/early/early-create.ts). Any other command does not even load that module.
  if (argv.includes('create') && argv.includes('task')) await require('../dist/early.cjs').startEarlyCreate(argv);
  const bundle = join(__dirname, '../dist/tapit.cjs');
  await loadBundle(bundle).main(argv, bundle);
})();

/** The bundle's exports, compiled from its code cache when there is one for this very build. */
function loadBundle(bundle) {
  const cacheFile = `${bundle}.v8-cache`;
  const source = readFileSync(bundle, 'utf8');
  // V8 checks a cache against the source's length only: the cache names the build it was made
  // from (the bundle's first line, `// tapit build <id>`).
  const stamp = Buffer.from(`${source.slice(0, source.indexOf('\n'))}:${source.length}\n`);
  let cachedData;
  try {
    const file = readFileSync(cacheFile);
    if (file.subarray(0, stamp.length).equals(stamp)) cachedData = file.subarray(stamp.length);
  } catch {
    // no cache yet
  }
  const script = new vm.Script(Module.wrap(source), {
    filename: bundle,
    cachedData,
    // A dynamic import() inside the bundle (oclif loading an ESM plugin) works as in a module.
    importModuleDynamically: vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  if ((!cachedData || script.cachedDataRejected) && writable(dirname(cacheFile))) {
    // After the run, so the functions it compiled lazily are in the cache too.
    process.once('exit', () => {
      const temp = `${cacheFile}.${process.pid}`;
      try {
        writeFileSync(temp, Buffer.concat([stamp, script.createCachedData()]));
        renameSync(temp, cacheFile);
      } catch {
        rmSync(temp, { force: true });
      }
    });
  }
  // Loaded as Node loads a CommonJS file, and registered under its path: oclif requires the same
  // file for its COMMANDS and must get this instance, not a second copy.
  const cli = new Module(bundle);
  cli.filename = bundle;
  cli.paths = Module._nodeModulePaths(dirname(bundle));
  Module._cache[bundle] = cli;
  script.runInThisContext()(cli.exports, Module.createRequire(bundle), cli, bundle, dirname(bundle));
  cli.loaded = true;
  return cli.exports;
}

/** A read-only install (root-owned, a store) keeps compiling; it has nowhere to keep a cache. */
function writable(dir) {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
