import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { connectUrlFor, loadConfig, nameFromHostname } from './config.js';

describe('loadConfig', () => {
  it('applies the defaults', () => {
    const c = loadConfig({ TAPIT_AGENT_TOKEN: 't', TAPIT_AGENT_NAME: 'Host-1' });
    expect(c).toMatchObject({
      schedulerUrl: 'http://127.0.0.1:7700',
      connectUrl: 'ws://127.0.0.1:7700/v1/agents/connect',
      name: 'host-1',
      stateDir: '/var/lib/tapit-agent',
      network: 'bridge',
      cpu: undefined,
      memoryGb: undefined,
      engineCheckMs: 2000,
      engineWaitSeconds: 300,
      pidsPerTask: undefined,
      // Logs: the format is the terminal's choice; no metrics port unless asked.
      logFormat: undefined,
      logLevel: 'info',
      metricsListen: null,
    });
  });

  it('names the variable in a one-line error', () => {
    expect(() => loadConfig({ TAPIT_AGENT_TOKEN: 't', TAPIT_AGENT_NAME: 'a', TAPIT_AGENT_CPU: '1e6' })).toThrow(/^TAPIT_AGENT_CPU: must be at most 1024$/);
    expect(() => loadConfig({ TAPIT_AGENT_TOKEN: 't', TAPIT_AGENT_NAME: 'a', TAPIT_AGENT_MEMORY_GB: '1e300' })).toThrow(/^TAPIT_AGENT_MEMORY_GB: must be at most 16384$/);
    expect(() => loadConfig({ TAPIT_AGENT_NAME: 'a', TAPIT_AGENT_LABELS: 'region' })).toThrow(/^TAPIT_AGENT_LABELS: "region" must be KEY=VALUE/);
    expect(() => loadConfig({ TAPIT_AGENT_NAME: 'a', TAPIT_AGENT_LABELS: 'Region=eu' })).toThrow(/^TAPIT_AGENT_LABELS: label key "Region"/);
    expect(() => loadConfig({ TAPIT_AGENT_TOKEN: 't', TAPIT_AGENT_NAME: 'a', TAPIT_AGENT_CPU: 'lots' })).toThrow(/^TAPIT_AGENT_CPU: /);
    expect(() => loadConfig({ TAPIT_AGENT_TOKEN: 't', TAPIT_AGENT_NAME: 'a', TAPIT_SCHEDULER_URL: 'ftp://x' })).toThrow(/^TAPIT_SCHEDULER_URL: /);
    expect(() => loadConfig({ TAPIT_AGENT_TOKEN: 't', TAPIT_AGENT_NAME: 'not valid!' })).toThrow(/^TAPIT_AGENT_NAME: /);
    expect(() => loadConfig({ TAPIT_AGENT_TOKEN: 't', TAPIT_AGENT_NAME: 'a', DOCKER_HOST: '/var/run/docker.sock' })).toThrow(/^DOCKER_HOST: /);
    expect(() => loadConfig({ TAPIT_AGENT_TOKEN: 't', TAPIT_AGENT_NAME: 'a', TAPIT_AGENT_TASK_PIDS: '1.5' })).toThrow(/^TAPIT_AGENT_TASK_PIDS: must be a whole number/);
    expect(() => loadConfig({ TAPIT_AGENT_TOKEN: 't', TAPIT_AGENT_NAME: 'a', TAPIT_AGENT_TASK_PIDS: '4' })).toThrow(/^TAPIT_AGENT_TASK_PIDS: must be at least 16/);
    expect(() => loadConfig({ TAPIT_AGENT_TOKEN: 't', TAPIT_AGENT_NAME: 'a', TAPIT_AGENT_ENGINE_CHECK_MS: '0' })).toThrow(/^TAPIT_AGENT_ENGINE_CHECK_MS: must be positive/);
    expect(() => loadConfig({ TAPIT_AGENT_TOKEN: 't', TAPIT_AGENT_NAME: 'a', TAPIT_AGENT_ENGINE_WAIT_SECONDS: 'soon' })).toThrow(/^TAPIT_AGENT_ENGINE_WAIT_SECONDS: must be a number of seconds/);
    expect(() => loadConfig({ TAPIT_AGENT_TOKEN: 't', TAPIT_AGENT_NAME: 'a', TAPIT_LOG_FORMAT: 'text' })).toThrow(/^TAPIT_LOG_FORMAT: must be one of json, pretty$/);
    expect(() => loadConfig({ TAPIT_AGENT_TOKEN: 't', TAPIT_AGENT_NAME: 'a', TAPIT_LOG_LEVEL: 'loud' })).toThrow(/^TAPIT_LOG_LEVEL: must be one of debug, info, warn, error$/);
    expect(() => loadConfig({ TAPIT_AGENT_TOKEN: 't', TAPIT_AGENT_NAME: 'a', TAPIT_AGENT_METRICS_LISTEN: ':9465' })).toThrow(/^TAPIT_AGENT_METRICS_LISTEN: must be HOST:PORT/);
    expect(() => loadConfig({ TAPIT_AGENT_TOKEN: 't', TAPIT_AGENT_NAME: 'a', TAPIT_AGENT_METRICS_LISTEN: '127.0.0.1:70000' })).toThrow(/^TAPIT_AGENT_METRICS_LISTEN: port 70000 is not a TCP port/);
    expect(loadConfig({ TAPIT_AGENT_TOKEN: 't', TAPIT_AGENT_NAME: 'a', TAPIT_AGENT_METRICS_LISTEN: '[::1]:9465' }).metricsListen).toEqual({ host: '::1', port: 9465 });
  });

  it('trusts the CA of TAPIT_CA_FILE besides Node\'s own, and names the variable when the file is unusable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tapit-ca-'));
    try {
      const pem = rootCertificates[0]!;
      writeFileSync(join(dir, 'ca.pem'), pem);
      writeFileSync(join(dir, 'not.pem'), 'hello');
      const base = { TAPIT_AGENT_TOKEN: 't', TAPIT_AGENT_NAME: 'a', TAPIT_SCHEDULER_URL: 'https://tapit.example.com' };
      expect(loadConfig(base).ca).toBeUndefined();
      const ca = loadConfig({ ...base, TAPIT_CA_FILE: join(dir, 'ca.pem') }).ca!;
      expect(ca).toHaveLength(rootCertificates.length + 1);
      expect(ca.at(-1)).toBe(pem);
      expect(() => loadConfig({ ...base, TAPIT_CA_FILE: join(dir, 'missing.pem') })).toThrow(/^TAPIT_CA_FILE: cannot read .*missing\.pem \(ENOENT\)$/);
      expect(() => loadConfig({ ...base, TAPIT_CA_FILE: join(dir, 'not.pem') })).toThrow(/^TAPIT_CA_FILE: .*no PEM certificate/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('needs no join token once its credential is registered (checked at start), and reads labels', () => {
    expect(loadConfig({ TAPIT_AGENT_NAME: 'a' })).toMatchObject({ token: undefined, labels: {} });
    expect(loadConfig({ TAPIT_AGENT_NAME: 'a', TAPIT_AGENT_LABELS: 'region=eu, gpu=true' }).labels).toEqual({ region: 'eu', gpu: 'true' });
  });

  it('reads overrides and DOCKER_HOST', () => {
    const c = loadConfig({ TAPIT_AGENT_TOKEN: 't', TAPIT_AGENT_NAME: 'a', TAPIT_AGENT_CPU: '3.5', TAPIT_AGENT_MEMORY_GB: '8', TAPIT_AGENT_TASK_PIDS: '512', DOCKER_HOST: 'tcp://10.0.0.2:2375' });
    expect(c).toMatchObject({ cpu: 3.5, memoryGb: 8, pidsPerTask: 512, dockerHost: 'tcp://10.0.0.2:2375' });
  });
});

describe('nameFromHostname', () => {
  it('keeps the first label, lowercased, as a valid name', () => {
    expect(nameFromHostname('Build_Host.example.com')).toBe('build-host');
    expect(nameFromHostname('_x')).toBe('x');
  });
});

describe('connectUrlFor', () => {
  it('maps http(s) to ws(s) and keeps a path prefix', () => {
    expect(connectUrlFor('https://tapit.example.com/base/')).toBe('wss://tapit.example.com/base/v1/agents/connect');
    expect(connectUrlFor('http://10.0.0.1:7700')).toBe('ws://10.0.0.1:7700/v1/agents/connect');
  });
});
