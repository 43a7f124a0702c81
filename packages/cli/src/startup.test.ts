import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// bin/tapit.js on the built bundle, copied alone to a fresh folder: it needs no node_modules, and
// its V8 code cache is written once, kept while valid and replaced when the bundle changes.
const PACKAGE = fileURLToPath(new URL('..', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'tapit-cli-startup-'));
mkdirSync(join(root, 'bin'));
mkdirSync(join(root, 'dist'));
copyFileSync(join(PACKAGE, 'package.json'), join(root, 'package.json'));
copyFileSync(join(PACKAGE, 'bin/tapit.js'), join(root, 'bin/tapit.js'));
copyFileSync(join(PACKAGE, 'dist/tapit.cjs'), join(root, 'dist/tapit.cjs'));
const cacheFile = join(root, 'dist/tapit.cjs.v8-cache');
afterAll(() => rmSync(root, { recursive: true, force: true }));

// NODE_ENV as many users' shells have it; no colours, as on a pipe.
const env = { PATH: process.env.PATH ?? '', HOME: root, NODE_ENV: 'development', NO_COLOR: '1' };
const tapit = (...args: string[]) => execFileSync(process.execPath, [join(root, 'bin/tapit.js'), ...args], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
/** Runs and returns stderr too: start-up must print nothing there. */
const tapitWithStderr = (...args: string[]) => {
  const run = spawnSync(process.execPath, [join(root, 'bin/tapit.js'), ...args], { encoding: 'utf8', env });
  return { stdout: run.stdout, stderr: run.stderr, status: run.status };
};
const version = `@tapit/cli/${(JSON.parse(readFileSync(join(PACKAGE, 'package.json'), 'utf8')) as { version: string }).version}`;
const written = () => statSync(cacheFile).mtimeMs;

describe('bin/tapit.js', () => {
  it('runs the bundle with no node_modules and writes its code cache on the first run only', () => {
    expect(tapitWithStderr('--version')).toEqual({ stdout: expect.stringContaining(version), stderr: '', status: 0 });
    const first = written();
    expect(readFileSync(cacheFile).length).toBeGreaterThan(100_000);
    expect(tapit('create', 'task', '--help')).toMatch(/^USAGE\n {2}\$ tapit create task/m);
    expect(written()).toBe(first);
  });

  it('replaces a cache that belongs to another build of the bundle', () => {
    const before = readFileSync(cacheFile);
    const later = new Date(Date.now() + 5000);
    utimesSync(join(root, 'dist/tapit.cjs'), later, later);
    expect(tapit('--version')).toContain(version);
    const after = readFileSync(cacheFile);
    expect(after.subarray(0, 40).equals(before.subarray(0, 40))).toBe(false);
    expect(after.toString('latin1', 0, after.indexOf(0x0a))).toBe(`${statSync(join(root, 'dist/tapit.cjs')).size}:${statSync(join(root, 'dist/tapit.cjs')).mtimeMs}`);
  });

  it('still runs, and repairs the cache, when V8 rejects it', () => {
    const stamp = readFileSync(cacheFile).subarray(0, readFileSync(cacheFile).indexOf(0x0a) + 1);
    writeFileSync(cacheFile, Buffer.concat([stamp, Buffer.from('not a V8 code cache')]));
    expect(tapit('--version')).toContain(version);
    expect(readFileSync(cacheFile).length).toBeGreaterThan(100_000);
  });
});
