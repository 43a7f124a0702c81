import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fakeServer } from '../testing/fake-server.js';
import { sampleTask as exampleTask } from '../testing/sample-task.js';
import { earlyCreateRequest } from './early-create.js';

// The built CLI (bin/tapit.cjs and its two bundles), copied alone to a fresh folder, so that a
// test may replace the main bundle with one that cannot load.
const PACKAGE = fileURLToPath(new URL('../..', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'tapit-cli-early-'));
mkdirSync(join(root, 'bin'));
mkdirSync(join(root, 'dist'));
for (const file of ['package.json', 'bin/tapit.cjs', 'dist/tapit.cjs', 'dist/early.cjs']) copyFileSync(join(PACKAGE, file), join(root, file));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A scheduler stand-in recording every request; `answer` says what each POST gets. */
async function recordingServer(answer: (post: number) => { status: number; body: unknown; headers?: Record<string, string> }) {
  const seen: Seen[] = [];
  const server = await fakeServer((req, res, url) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: url.pathname + url.search, headers: req.headers, body });
      const posts = seen.filter((s) => s.method === 'POST').length;
      const { status, body: json, headers } = req.method === 'POST' ? answer(posts) : { status: 404, body: { error: { code: 'NOT_FOUND', message: 'no such thing here' } }, headers: {} };
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(json));
    });
  });
  return { ...server, seen };
}

const refused = { status: 400, body: { error: { code: 'VALIDATION_FAILED', message: 'refused by the test', field: 'command' } } };

function run(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [join(root, 'bin/tapit.cjs'), ...args], { env: { PATH: process.env.PATH ?? '', HOME: root, NO_COLOR: '1', ...env } }, (error, stdout, stderr) =>
      resolve({ code: error ? (child.exitCode ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The headers that say what was asked, not how it travelled (host, connection, length, the key). */
function meaningful(headers: IncomingHttpHeaders): Record<string, string> {
  const { host: _host, connection: _connection, 'content-length': _length, 'idempotency-key': _key, ...rest } = headers;
  return rest as Record<string, string>;
}

describe('the early start of create task', () => {
  // Every plain form it takes, each with the environment it is typed in.
  const taken: Array<{ args: string[]; env?: Record<string, string> }> = [
    { args: ['create', 'task', 'true', '-a', 'web'] },
    { args: ['create', 'task', 'rails db:migrate', '--wait', '-a', 'web'] },
    { args: ['create', 'task', '-w', '--app', 'web', 'echo "$HOME" > /tmp/x; exit 3'] },
    { args: ['create', 'task', '--app=web', 'bundle exec rake', '-p', 'shop', '--stage=staging'] },
    { args: ['-p', 'shop', '-s', 'staging', '-a', 'web', 'create', 'task', 'env | sort', '--wait'] },
    { args: ['create', 'task', 'A=1 env'], env: { TAPIT_APP: 'web', TAPIT_PROJECT: 'shop' } },
    { args: ['create', 'task', 'ünïcödé 李 ✓', '-a', 'wéb/x'], env: { TAPIT_INITIATED_BY: 'Zoë Li 李' } },
    { args: ['create', 'task', ' spaced  ', '-s', 'other stage', '-a', 'web'] },
  ];

  it.each(taken)('sends what the command itself sends: $args', async ({ args, env = {} }) => {
    const server = await recordingServer(() => refused);
    try {
      const settings = { TAPIT_URL: `${server.url}/`, TAPIT_TOKEN: 'secret-token', ...env };
      const early = earlyCreateRequest(args, settings);
      expect(early).toBeDefined();
      // The command's own request, the early start turned off.
      expect((await run(args, { ...settings, TAPIT_EARLY_CREATE: '0' })).code).toBe(2);
      const [own] = server.seen;
      expect(server.seen).toHaveLength(1);
      expect(early!.url).toBe(`${server.url}${own.url}`);
      expect(early!.headers).toEqual(meaningful(own.headers));
      expect(JSON.parse(early!.body)).toEqual(JSON.parse(own.body));
    } finally {
      await server.close();
    }
  });

  it.each([
    ['a key=value', ['create', 'task', 'true', 'memory=0.5', '-a', 'web']],
    ['keep=', ['create', 'task', 'true', 'keep=1h', '-a', 'web']],
    ['a command that looks like a key', ['create', 'task', 'memory=4', '-a', 'web']],
    ['--file', ['create', 'task', 'true', '--file', './x:/x', '-a', 'web']],
    ['--json', ['create', 'task', 'true', '--json', '-a', 'web']],
    ['--help', ['create', 'task', 'true', '--help', '-a', 'web']],
    ['a flag glued to its value', ['create', 'task', 'true', '-aweb']],
    ['a repeated flag', ['create', 'task', 'true', '-a', 'web', '-a', 'api']],
    ['--wait twice', ['create', 'task', 'true', '-w', '--wait', '-a', 'web']],
    ['a flag without its value', ['create', 'task', 'true', '-a']],
    ['two bare words', ['create', 'task', 'true', 'false', '-a', 'web']],
    ['no command', ['create', 'task', '-a', 'web']],
    ['--', ['create', 'task', '-a', 'web', '--', 'true']],
    ['no app', ['create', 'task', 'true']],
    ['another command', ['create', 'app', 'web']],
    ['run', ['run', 'bash', '-a', 'web']],
  ])('leaves %s to the CLI', (_why, args) => {
    expect(earlyCreateRequest(args, { TAPIT_URL: 'http://127.0.0.1:1', TAPIT_TOKEN: 't' })).toBeUndefined();
  });

  it('leaves it to the CLI without a login, with a bad TAPIT_INITIATED_BY or TAPIT_CA_FILE, or when turned off', () => {
    const args = ['create', 'task', 'true', '-a', 'web'];
    const login = { TAPIT_URL: 'http://127.0.0.1:1', TAPIT_TOKEN: 't' };
    expect(earlyCreateRequest(args, { HOME: root, XDG_CONFIG_HOME: join(root, 'nowhere') })).toBeUndefined();
    expect(earlyCreateRequest(args, { ...login, TAPIT_INITIATED_BY: 'a\u001b[2Jb' })).toBeUndefined();
    expect(earlyCreateRequest(args, { ...login, TAPIT_CA_FILE: join(root, 'no-such.pem') })).toBeUndefined();
    expect(earlyCreateRequest(args, { ...login, TAPIT_APP: '' , TAPIT_PROJECT: '' })).toBeUndefined();
    expect(earlyCreateRequest(args, { ...login, TAPIT_EARLY_CREATE: '0' })).toBeUndefined();
    expect(earlyCreateRequest(args, login)).toBeDefined();
  });

  it('reads the stored login by the rules the CLI reads it by', () => {
    const config = join(root, 'config-home');
    mkdirSync(join(config, 'tapit'), { recursive: true });
    writeFileSync(join(config, 'tapit', 'config.json'), JSON.stringify({ url: 'http://127.0.0.1:7700/', token: 'stored' }));
    const early = earlyCreateRequest(['create', 'task', 'true', '-a', 'web'], { XDG_CONFIG_HOME: config, TAPIT_TOKEN: 'from-env' });
    expect(early).toMatchObject({ url: 'http://127.0.0.1:7700/v1/projects/default/stages/default/apps/web/tasks', headers: { authorization: 'Bearer from-env' } });
    writeFileSync(join(config, 'tapit', 'config.json'), JSON.stringify({ url: 'not a url', token: 'stored' }));
    expect(earlyCreateRequest(['create', 'task', 'true', '-a', 'web'], { XDG_CONFIG_HOME: config })).toBeUndefined();
  });

  it('is sent once: the command adopts its answer instead of sending its own', async () => {
    const server = await recordingServer(() => ({ status: 201, body: exampleTask }));
    try {
      const result = await run(['create', 'task', 'true', '-a', 'web'], { TAPIT_URL: server.url, TAPIT_TOKEN: 't' });
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(result.stdout).toContain(exampleTask.id);
      expect(server.seen.map((s) => `${s.method} ${s.url}`)).toEqual(['POST /v1/projects/default/stages/default/apps/web/tasks']);
    } finally {
      await server.close();
    }
  });

  it('is retried by the command with its own idempotency key when the scheduler was not ready', async () => {
    const server = await recordingServer((post) => (post === 1 ? { status: 503, body: { error: { code: 'UNAVAILABLE', message: 'starting' } }, headers: { 'retry-after': '0' } } : refused));
    try {
      const result = await run(['create', 'task', 'true', '--wait', '-a', 'web'], { TAPIT_URL: server.url, TAPIT_TOKEN: 't' });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('refused by the test');
      const keys = server.seen.map((s) => s.headers['idempotency-key']);
      expect(keys).toHaveLength(2);
      expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
      expect(keys[1]).toBe(keys[0]);
    } finally {
      await server.close();
    }
  });

  it('leaves before the CLI loads, and a create the CLI never adopted is said, with its task', async () => {
    // A CLI bundle that cannot even load: the create went out before it was read.
    const broken = mkdtempSync(join(tmpdir(), 'tapit-cli-early-broken-'));
    for (const dir of ['bin', 'dist']) mkdirSync(join(broken, dir));
    for (const file of ['package.json', 'bin/tapit.cjs', 'dist/early.cjs']) copyFileSync(join(root, file), join(broken, file));
    writeFileSync(join(broken, 'dist/tapit.cjs'), '// tapit build broken\nthrow new Error("this bundle cannot load");\n');
    const server = await recordingServer(() => ({ status: 201, body: exampleTask }));
    try {
      const result = await new Promise<{ code: number; stderr: string }>((resolve) => {
        const child = execFile(process.execPath, [join(broken, 'bin/tapit.cjs'), 'create', 'task', 'true', '-a', 'web'], { env: { PATH: process.env.PATH ?? '', HOME: broken, TAPIT_URL: server.url, TAPIT_TOKEN: 't' } }, (error, _stdout, stderr) =>
          resolve({ code: error ? (child.exitCode ?? 1) : 0, stderr }),
        );
      });
      expect(result.code).not.toBe(0);
      expect(server.seen.map((s) => s.method)).toEqual(['POST']);
      expect(result.stderr).toContain('tapit: the create sent at start-up was not the command\'s own: a task may have been created (see tapit list tasks)');
    } finally {
      await server.close();
      rmSync(broken, { recursive: true, force: true });
    }
  });
});
