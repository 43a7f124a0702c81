import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configPath, readLogin, writeLogin } from './config.js';

describe('stored login', () => {
  it('lives under XDG_CONFIG_HOME, else ~/.config', () => {
    expect(configPath({ XDG_CONFIG_HOME: '/x' })).toBe('/x/tapit/config.json');
    expect(configPath({ HOME: '/home/u' })).toMatch(/\/\.config\/tapit\/config\.json$/);
  });

  it('is written readable by the user only, even over an older file', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'tapit-cli-')), 'tapit', 'config.json');
    expect(await readLogin(path)).toBeNull();
    await writeLogin({ url: 'http://127.0.0.1:7700', token: 'a' }, path);
    await writeFile(path, '{}', { mode: 0o644 });
    await writeLogin({ url: 'http://127.0.0.1:7700', token: 'b' }, path);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readLogin(path)).toEqual({ url: 'http://127.0.0.1:7700', token: 'b' });
    expect(JSON.parse(await readFile(path, 'utf8')).token).toBe('b');
  });

  it('reports a damaged file instead of ignoring it', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'tapit-cli-')), 'config.json');
    await writeFile(path, 'not json');
    await expect(readLogin(path)).rejects.toThrow(/damaged: run tapit login again/);
  });
});
