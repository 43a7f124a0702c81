import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { writeLogin } from './lib/config.js';
import { fakeServer } from './testing/fake-server.js';

// bin/tapit.cjs on the built bundle, copied alone to a fresh folder: it needs no node_modules, and
// its V8 code cache is written once, kept while valid and replaced when the bundle changes.
const PACKAGE = fileURLToPath(new URL('..', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'tapit-cli-startup-'));
mkdirSync(join(root, 'bin'));
mkdirSync(join(root, 'dist'));
copyFileSync(join(PACKAGE, 'package.json'), join(root, 'package.json'));
copyFileSync(join(PACKAGE, 'bin/tapit'), join(root, 'bin/tapit'));
copyFileSync(join(PACKAGE, 'bin/tapit.cjs'), join(root, 'bin/tapit.cjs'));
copyFileSync(join(PACKAGE, 'dist/tapit.cjs'), join(root, 'dist/tapit.cjs'));
copyFileSync(join(PACKAGE, 'dist/early.cjs'), join(root, 'dist/early.cjs'));
const cacheFile = join(root, 'dist/tapit.cjs.v8-cache');
afterAll(() => rmSync(root, { recursive: true, force: true }));

// NODE_ENV as many users' shells have it; no colours, as on a pipe.
const env = { PATH: process.env.PATH ?? '', HOME: root, NODE_ENV: 'development', NO_COLOR: '1' };
const tapit = (...args: string[]) => execFileSync(process.execPath, [join(root, 'bin/tapit.cjs'), ...args], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
/** Runs and returns stderr too: start-up must print nothing there. */
const tapitWithStderr = (...args: string[]) => {
  const run = spawnSync(process.execPath, [join(root, 'bin/tapit.cjs'), ...args], { encoding: 'utf8', env });
  return { stdout: run.stdout, stderr: run.stderr, status: run.status };
};
const version = `@tapit/cli/${(JSON.parse(readFileSync(join(PACKAGE, 'package.json'), 'utf8')) as { version: string }).version}`;
const written = () => statSync(cacheFile).mtimeMs;

describe('bin/tapit.cjs', () => {
  it('runs the bundle with no node_modules and writes its code cache on the first run only', () => {
    expect(tapitWithStderr('--version')).toEqual({ stdout: expect.stringContaining(version), stderr: '', status: 0 });
    const first = written();
    expect(readFileSync(cacheFile).length).toBeGreaterThan(100_000);
    expect(tapit('create', 'task', '--help')).toMatch(/^USAGE\n {2}\$ tapit create task/m);
    expect(written()).toBe(first);
  });

  it('replaces a cache that belongs to another build of the bundle', () => {
    const before = readFileSync(cacheFile);
    // Another build: the same code under another build id, of the same length.
    const bundle = readFileSync(join(root, 'dist/tapit.cjs'), 'utf8');
    const firstLine = bundle.slice(0, bundle.indexOf('\n'));
    expect(firstLine).toMatch(/^\/\/ tapit build [0-9a-f-]{36}$/);
    const otherBuild = `// tapit build ${'0'.repeat(8)}-0000-0000-0000-${'0'.repeat(12)}`;
    writeFileSync(join(root, 'dist/tapit.cjs'), otherBuild + bundle.slice(firstLine.length));
    expect(tapit('--version')).toContain(version);
    const after = readFileSync(cacheFile);
    expect(after.subarray(0, 40).equals(before.subarray(0, 40))).toBe(false);
    expect(after.toString('latin1', 0, after.indexOf(0x0a))).toBe(`${otherBuild}:${bundle.length}`);
  });

  it('still runs, and repairs the cache, when V8 rejects it', () => {
    const stamp = readFileSync(cacheFile).subarray(0, readFileSync(cacheFile).indexOf(0x0a) + 1);
    writeFileSync(cacheFile, Buffer.concat([stamp, Buffer.from('not a V8 code cache')]));
    expect(tapit('--version')).toContain(version);
    expect(readFileSync(cacheFile).length).toBeGreaterThan(100_000);
  });

  it('exits once its answers are read, even when the server would keep the connection open forever', async () => {
    const server = await fakeServer(
      (req, res) => {
        if (req.method === 'DELETE') return void res.writeHead(204).end();
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ items: [] }));
      },
      { keepAliveForever: true },
    );
    try {
      const run = (...args: string[]) =>
        new Promise<{ code: number | null; stderr: string }>((resolve) => {
          // Without an exit the test's own timeout fails it.
          const child = execFile(process.execPath, [join(root, 'bin/tapit.cjs'), ...args], { env: { ...env, TAPIT_URL: server.url, TAPIT_TOKEN: 't' } }, (error, _stdout, stderr) =>
            resolve({ code: error ? (child.exitCode ?? 1) : 0, stderr }),
          );
        });
      expect(await run('revoke', 'token', 'ci')).toEqual({ code: 0, stderr: '' });
      expect(await run('list', 'tokens')).toMatchObject({ code: 0 });
      expect(server.requests.map((u) => u.pathname)).toEqual(['/v1/tokens/ci', '/v1/tokens']);
    } finally {
      await server.close();
    }
    // The hang this catches lasts forever; two CLI starts on a starved 2-core machine took over 5 s.
  }, 20_000);
});

describe('bin/tapit, the launcher npm installs as `tapit`', () => {
  // As npm installs it: a relative symlink in another folder (node_modules/.bin).
  const dotBin = join(root, 'node_modules/.bin');
  mkdirSync(dotBin, { recursive: true });
  symlinkSync('../../bin/tapit', join(dotBin, 'tapit'));

  it('runs bin/tapit.cjs beside its target with the node on PATH', () => {
    const run = spawnSync(join(dotBin, 'tapit'), ['--version'], { encoding: 'utf8', env: { ...env, PATH: `${join(process.execPath, '..')}:${env.PATH}` } });
    expect({ stdout: run.stdout, stderr: run.stderr, status: run.status }).toEqual({ stdout: expect.stringContaining(version), stderr: '', status: 0 });
  });

  it('runs when a shell was given it by name and found it through PATH (`bash tapit`), or in the folder it runs in', () => {
    const withNode = `${join(process.execPath, '..')}:${env.PATH}`;
    const elsewhere = mkdtempSync(join(tmpdir(), 'tapit-cli-cwd-'));
    try {
      const throughPath = spawnSync('bash', ['tapit', '--version'], { cwd: elsewhere, encoding: 'utf8', env: { ...env, PATH: `${dotBin}:${withNode}` } });
      expect({ stdout: throughPath.stdout, stderr: throughPath.stderr, status: throughPath.status }).toEqual({ stdout: expect.stringContaining(version), stderr: '', status: 0 });
      const here = spawnSync('sh', ['tapit', '--version'], { cwd: dotBin, encoding: 'utf8', env: { ...env, PATH: withNode } });
      expect({ stdout: here.stdout, stderr: here.stderr, status: here.status }).toEqual({ stdout: expect.stringContaining(version), stderr: '', status: 0 });
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
    // Two CLI starts: see the timeout above.
  }, 20_000);

  it('hands NODE_EXTRA_CA_CERTS over as TAPIT_EXTRA_CA_CERTS for a plain http scheduler, so that Node does not parse it as it starts; leaves it to Node otherwise', async () => {
    // A `node` that says what it was given.
    const fakeBin = join(root, 'fake-node');
    mkdirSync(fakeBin, { recursive: true });
    writeFileSync(join(fakeBin, 'node'), '#!/bin/sh\nfor arg in "$@"; do echo "arg: $arg"; done\necho "NODE_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS-unset} TAPIT_EXTRA_CA_CERTS=${TAPIT_EXTRA_CA_CERTS-unset}"\n');
    chmodSync(join(fakeBin, 'node'), 0o755);
    const home = join(root, 'launcher-home');
    mkdirSync(join(home, '.config/tapit'), { recursive: true });
    const launch = (extra: Record<string, string>) =>
      execFileSync(join(dotBin, 'tapit'), ['create', 'task', 'echo "a b"'], { encoding: 'utf8', env: { ...env, HOME: home, PATH: `${fakeBin}:${env.PATH}`, ...extra } });
    const extra = { NODE_EXTRA_CA_CERTS: '/etc/ssl/extra.pem' };
    const handedOver = 'NODE_EXTRA_CA_CERTS=unset TAPIT_EXTRA_CA_CERTS=/etc/ssl/extra.pem\n';
    const leftToNode = 'NODE_EXTRA_CA_CERTS=/etc/ssl/extra.pem TAPIT_EXTRA_CA_CERTS=unset\n';
    expect(launch({ ...extra, TAPIT_URL: 'http://10.0.0.5:8080' })).toBe(`arg: ${dotBin}/../../bin/tapit.cjs\narg: create\narg: task\narg: echo "a b"\n${handedOver}`);
    expect(launch({ ...extra, TAPIT_URL: 'HTTP://tapit.internal' })).toContain(handedOver);
    expect(launch({ ...extra, TAPIT_URL: 'https://tapit.internal' })).toContain(leftToNode);
    // No TAPIT_URL: the login's URL, as `tapit login` writes it (writeLogin); none, and Node reads it.
    expect(launch(extra)).toContain(leftToNode);
    await writeLogin({ url: 'http://10.0.0.5:8080', token: 't' }, join(home, '.config/tapit/config.json'));
    expect(launch(extra)).toContain(handedOver);
    await writeLogin({ url: 'https://tapit.internal', token: 't' }, join(home, '.config/tapit/config.json'));
    expect(launch(extra)).toContain(leftToNode);
    expect(launch({ TAPIT_URL: 'http://10.0.0.5:8080' })).toContain('NODE_EXTRA_CA_CERTS=unset TAPIT_EXTRA_CA_CERTS=unset\n');
  });
});
