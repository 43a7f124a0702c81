import { describe, expect, it } from 'vitest';
import { advertiseUrl, ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('defaults to the embedded database on 127.0.0.1:7700', () => {
    const config = loadConfig({});
    expect(config.TAPIT_DATABASE_URL).toBeUndefined();
    expect(config.TAPIT_HOST).toBe('127.0.0.1');
    expect(config.TAPIT_PORT).toBe(7700);
    expect(config.TAPIT_DATA_DIR).toContain('tapit');
    // Webhooks: 10 s doubling for a day, 10 s per attempt, public addresses only.
    expect(config).toMatchObject({ TAPIT_WEBHOOK_RETRY_BASE_MS: 10_000, TAPIT_WEBHOOK_RETRY_FOR_SECONDS: 86_400, TAPIT_WEBHOOK_TIMEOUT_MS: 10_000, TAPIT_WEBHOOK_ALLOWED_NETWORKS: 'external' });
    // Logs are kept until their task is deleted unless a retention is set.
    expect(config.TAPIT_LOG_RETENTION_DAYS).toBeUndefined();
    expect(loadConfig({ TAPIT_LOG_RETENTION_DAYS: '0.5' }).TAPIT_LOG_RETENTION_DAYS).toBe(0.5);
    // A task's log holds at most 1 GiB of output.
    expect(config.TAPIT_LOG_MAX_BYTES_PER_TASK).toBe(1024 ** 3);
    expect(config.TAPIT_CONSOLE_RECORDING_MAX_BYTES).toBe(64 * 1024 ** 2);
    expect(config.TAPIT_TASK_FILES_MAX_BYTES).toBe(2 * 1024 ** 2);
    expect(config.TAPIT_COPY_MAX_BYTES).toBe(256 * 1024 ** 2);
    // Long-lived streams (log follows, consoles, execs): 100 per token, 2048 in all.
    expect(config).toMatchObject({ TAPIT_MAX_STREAMS_PER_TOKEN: 100, TAPIT_MAX_STREAMS: 2048 });
  });

  it('reads every variable', () => {
    const config = loadConfig({
      TAPIT_DATABASE_URL: 'postgres://u:p@db:5432/tapit',
      TAPIT_PORT: '8800',
      TAPIT_HOST: '0.0.0.0',
      TAPIT_BOOTSTRAP_TOKEN: 'b'.repeat(20),
      TAPIT_AGENT_JOIN_TOKEN: 'j'.repeat(20),
    });
    expect(config).toMatchObject({ TAPIT_PORT: 8800, TAPIT_HOST: '0.0.0.0', TAPIT_DATABASE_URL: 'postgres://u:p@db:5432/tapit' });
  });

  it.each([
    ['TAPIT_PORT', 'seventy', 'TAPIT_PORT: '],
    ['TAPIT_PORT', '70000', 'TAPIT_PORT: must be a port from 0 to 65535'],
    ['TAPIT_DATABASE_URL', 'mysql://x', 'TAPIT_DATABASE_URL: must be a postgres:// or postgresql:// URL'],
    ['TAPIT_BOOTSTRAP_TOKEN', 'short', 'TAPIT_BOOTSTRAP_TOKEN: must be at least 16 characters'],
    ['TAPIT_WEBHOOK_ALLOWED_NETWORKS', 'internet', 'TAPIT_WEBHOOK_ALLOWED_NETWORKS: "internet" is not external, loopback, private, * or a CIDR such as 10.1.0.0/16'],
    ['TAPIT_LOG_RETENTION_DAYS', '0', 'TAPIT_LOG_RETENTION_DAYS: must be a number of days above 0, at most 36500'],
    ['TAPIT_LOG_RETENTION_DAYS', 'forever', 'TAPIT_LOG_RETENTION_DAYS: must be a number of days above 0, at most 36500'],
    ['TAPIT_LOG_MAX_BYTES_PER_TASK', '100', 'TAPIT_LOG_MAX_BYTES_PER_TASK: must be a whole number of bytes, at least 1024'],
    ['TAPIT_LOG_MAX_BYTES_PER_TASK', '2048.5', 'TAPIT_LOG_MAX_BYTES_PER_TASK: must be a whole number of bytes, at least 1024'],
    ['TAPIT_TASK_FILES_MAX_BYTES', String(2 * 1024 ** 2 + 1), 'TAPIT_TASK_FILES_MAX_BYTES: must be at most 2097152 bytes (2 MiB)'],
    ['TAPIT_COPY_MAX_BYTES', '10', 'TAPIT_COPY_MAX_BYTES: must be a whole number of bytes, at least 1024'],
    ['TAPIT_CONSOLE_RECORDING_MAX_BYTES', 'lots', 'TAPIT_CONSOLE_RECORDING_MAX_BYTES: must be a whole number of bytes, at least 1024'],
    ['TAPIT_CONSOLE_RECORDING_MAX_BYTES', '1.5', 'TAPIT_CONSOLE_RECORDING_MAX_BYTES: must be a whole number of bytes, at least 1024'],
    ['TAPIT_WEBHOOK_RETRY_BASE_MS', '0', 'TAPIT_WEBHOOK_RETRY_BASE_MS: must be a positive whole number'],
    ['TAPIT_MAX_STREAMS', '0', 'TAPIT_MAX_STREAMS: must be a positive whole number'],
    ['TAPIT_MAX_STREAMS', 'many', 'TAPIT_MAX_STREAMS: must be a positive whole number'],
    ['TAPIT_MAX_STREAMS_PER_TOKEN', '-1', 'TAPIT_MAX_STREAMS_PER_TOKEN: must be a positive whole number'],
    ['TAPIT_MAX_STREAMS_PER_TOKEN', '1.5', 'TAPIT_MAX_STREAMS_PER_TOKEN: must be a positive whole number'],
    ['TAPIT_LOG_FORMAT', 'text', 'TAPIT_LOG_FORMAT: must be one of json, pretty'],
    ['TAPIT_LOG_LEVEL', 'trace', 'TAPIT_LOG_LEVEL: must be one of debug, info, warn, error'],
    ['TAPIT_METRICS_TOKEN', 'short', 'TAPIT_METRICS_TOKEN: must be at least 16 characters'],
    ['TAPIT_METRICS_LISTEN', '9464', 'TAPIT_METRICS_LISTEN: must be HOST:PORT, e.g. 127.0.0.1:9464'],
    ['TAPIT_METRICS_LISTEN', '127.0.0.1:99999', 'TAPIT_METRICS_LISTEN: must be HOST:PORT with a port from 0 to 65535'],
    ['TAPIT_METRICS_CACHE_SECONDS', '-1', 'TAPIT_METRICS_CACHE_SECONDS: must not be negative'],
  ])('refuses %s=%s with one line naming it', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });
});

describe('advertiseUrl', () => {
  it('is TAPIT_ADVERTISE_URL, else the listen address, with loopback for a wildcard host', () => {
    expect(advertiseUrl(loadConfig({ TAPIT_ADVERTISE_URL: 'http://10.0.0.5:7700/' }), 7700)).toBe('http://10.0.0.5:7700');
    expect(advertiseUrl(loadConfig({}), 7701)).toBe('http://127.0.0.1:7701');
    expect(advertiseUrl(loadConfig({ TAPIT_HOST: '0.0.0.0' }), 7700)).toBe('http://127.0.0.1:7700');
    expect(advertiseUrl(loadConfig({ TAPIT_HOST: '::' }), 7700)).toBe('http://[::1]:7700');
    expect(advertiseUrl(loadConfig({ TAPIT_HOST: '10.1.2.3' }), 7700)).toBe('http://10.1.2.3:7700');
  });

  it('refuses an address with a path or of another scheme, naming the variable', () => {
    for (const bad of ['10.0.0.5:7700', 'ws://a:1', 'http://a:1/v1'])
      expect(() => loadConfig({ TAPIT_ADVERTISE_URL: bad })).toThrow(/^TAPIT_ADVERTISE_URL: must be an http:\/\/ or https:\/\/ address with no path/);
  });
});
