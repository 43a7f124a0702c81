import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Task } from '@tapit/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, TEST_IMAGE, type RunningAgent } from '../support/agent.js';
import { cliEnv, runCli } from '../support/cli.js';
import { createDatabase, type FreshDatabase } from '../support/postgres.js';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { startScheduler, type RunningScheduler } from '../support/scheduler.js';
import { idFrom } from '../support/system.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

/**
 * A scheduler behind a TLS-terminating proxy (as nginx or Caddy would be) with a certificate of
 * a private CA made here with openssl: the CLI (https:// and wss://) and the agent (wss://, its
 * console dial-backs too) work with TAPIT_CA_FILE, and without it the CLI says so in one line.
 */
describe('running behind TLS with a private CA', () => {
  let dir: string;
  let caFile: string;
  let db: FreshDatabase;
  let scheduler: RunningScheduler;
  let proxy: TcpProxy;
  let agent: RunningAgent;
  let env: Record<string, string>;
  const tapit = (...args: string[]) => runCli(args, { env, timeoutMs: 60_000 });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tapit-tls-'));
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=tapit test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
    openssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
    await writeFile(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
    openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '1', '-extfile', 'server.ext');
    caFile = join(dir, 'ca.pem');

    const joinToken = `join-${randomBytes(16).toString('hex')}`;
    db = await createDatabase();
    scheduler = await startScheduler({ TAPIT_AGENT_JOIN_TOKEN: joinToken }, { databaseUrl: db.url });
    proxy = await startTcpProxy({ port: scheduler.port }, { tls: { key: await readFile(join(dir, 'server.key'), 'utf8'), cert: await readFile(join(dir, 'server.pem'), 'utf8') } });
    // The agent dials the proxy; startAgent sees it come online through the plain port.
    agent = await startAgent(scheduler, joinToken, `tls-${randomBytes(4).toString('hex')}`, { env: { TAPIT_SCHEDULER_URL: proxy.url, TAPIT_CA_FILE: caFile } });
    env = { ...cliEnv({ url: proxy.url, token: scheduler.token }, join(dir, 'config')), TAPIT_CA_FILE: caFile, TAPIT_APP: 'web' };
    const created = await tapit('create', 'app', 'web', `image=${TEST_IMAGE}`);
    expect(created.code, created.stderr).toBe(0);
  }, HOOK_TIMEOUT_MS);

  afterAll(async () => {
    await agent?.stop();
    await proxy?.close();
    await scheduler?.stop();
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  }, HOOK_TIMEOUT_MS);

  it('the URLs are https:// and the agent dialled wss:// through the proxy', () => {
    expect(proxy.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(agent.output()).toContain(`connection.open url=wss://127.0.0.1:${proxy.port}/v1/agents/connect`);
    expect(agent.output()).not.toContain('connection.error');
  });

  it('tapit create task --wait over https:// streams the log and exits with the task\'s code', async () => {
    const run = await tapit('create', 'task', 'echo over-tls; exit 3', '--wait');
    expect(run.code, `${run.stdout}\n${run.stderr}\n${agent.output()}`).toBe(3);
    expect(run.stdout).toMatch(/^\S+ \S+ \[app\] over-tls$/m);
  });

  it('an exec goes over wss:// from the CLI and from the agent', async () => {
    const started = await tapit('create', 'task', 'sleep 60');
    const id = idFrom(started.stdout);
    const deadline = Date.now() + 30_000;
    let status = '';
    while (status !== 'RUNNING' && Date.now() < deadline) {
      status = Task.parse(JSON.parse((await tapit('show', 'task', `task=${id}`, '--json')).stdout)).status;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(status).toBe('RUNNING');
    const exec = await tapit('task:attach', id, '--', 'echo', 'exec-over-wss');
    expect(exec.code, `${exec.stderr}\n${agent.output()}`).toBe(0);
    expect(exec.stdout).toContain('exec-over-wss');
    await tapit('task:stop', id);
  });

  it('without the CA the CLI fails with one line saying what to set', async () => {
    const { TAPIT_CA_FILE: _ca, ...withoutCa } = env;
    for (const args of [['list', 'tasks'], ['create', 'task', 'echo never']]) {
      const refused = await runCli(args, { env: withoutCa });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(new RegExp(`^Error: could not reach ${proxy.url}: its TLS certificate is not signed by a trusted authority \\([A-Z_]+\\): set TAPIT_CA_FILE to the PEM file of the CA that signed it\\n$`));
    }
    const listed = await tapit('list', 'tasks', '--json');
    expect((JSON.parse(listed.stdout) as { items: Task[] }).items.map((task) => task.command[2])).not.toContain('echo never');
  });

  it('trusts a CA given in NODE_EXTRA_CA_CERTS: Node reads it for an https scheduler, the CLI when the launcher handed it over', async () => {
    const { TAPIT_CA_FILE: _ca, ...withoutCa } = env;
    // https: the launcher leaves the variable to Node.
    const run = await runCli(['create', 'task', 'echo trusted-through-node-extra', '--wait'], { env: { ...withoutCa, NODE_EXTRA_CA_CERTS: caFile }, timeoutMs: 60_000 });
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toMatch(/^\S+ \S+ \[app\] trusted-through-node-extra$/m);
    // Handed over (the launcher does so for a plain http URL; a connection that is https after
    // all, `tapit login https://…`, still trusts it).
    const handedOver = await runCli(['list', 'tasks'], { env: { ...withoutCa, TAPIT_EXTRA_CA_CERTS: caFile } });
    expect(handedOver.code, handedOver.stderr).toBe(0);
    // A file it cannot read is a warning, as in Node, and Node's own list is used.
    const unreadable = await runCli(['list', 'tasks'], { env: { ...withoutCa, TAPIT_EXTRA_CA_CERTS: join(dir, 'missing.pem') } });
    expect(unreadable.code).toBe(1);
    expect(unreadable.stderr).toContain(`Warning: Ignoring extra certs (NODE_EXTRA_CA_CERTS): cannot read ${join(dir, 'missing.pem')} (ENOENT)`);
    expect(unreadable.stderr).toContain('its TLS certificate is not signed by a trusted authority');
  });

  it('an unreadable TAPIT_CA_FILE is bad input: exit 2, one line naming it', async () => {
    const refused = await runCli(['list', 'tasks'], { env: { ...env, TAPIT_CA_FILE: join(dir, 'missing.pem') } });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^Error: TAPIT_CA_FILE: cannot read .*missing\.pem \(ENOENT\)\n$/);
  });
});
