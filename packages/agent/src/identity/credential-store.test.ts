import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CREDENTIAL_FILE, CredentialStore } from './credential-store.js';

const folder = () => mkdtempSync(join(tmpdir(), 'tapit-credential-'));

describe('CredentialStore', () => {
  it('makes a credential at first start, keeps it 0600 whatever the umask, and finds it again', () => {
    const dir = folder();
    const old = process.umask(0);
    try {
      const why: string[] = [];
      const first = new CredentialStore(dir, 'alpha', (w) => why.push(w));
      expect(first.credential).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(first.registered).toBe(false);
      expect(why).toEqual(['none in the state folder yet']);
      expect(statSync(join(dir, CREDENTIAL_FILE)).mode & 0o777).toBe(0o600);
      first.markRegistered();
      expect(statSync(join(dir, CREDENTIAL_FILE)).mode & 0o777).toBe(0o600);
      const again = new CredentialStore(dir, 'alpha', (w) => why.push(w));
      expect(again.credential).toBe(first.credential);
      expect(again.registered).toBe(true);
      expect(why).toHaveLength(1);
    } finally {
      process.umask(old);
    }
  });

  it('makes a new credential for a new name: another name is another agent', () => {
    const dir = folder();
    const alpha = new CredentialStore(dir, 'alpha');
    alpha.markRegistered();
    const why: string[] = [];
    const beta = new CredentialStore(dir, 'beta', (w) => why.push(w));
    expect(beta.credential).not.toBe(alpha.credential);
    expect(beta.registered).toBe(false);
    expect(why).toEqual(["the state folder's credential is agent alpha's, not beta's"]);
  });

  it('refuses to start on a credential file it cannot read, rather than becoming a new agent', () => {
    const dir = folder();
    writeFileSync(join(dir, CREDENTIAL_FILE), '{"version":1,"name":"alpha"');
    expect(() => new CredentialStore(dir, 'alpha')).toThrow(/restore it, or remove it to join as a new agent/);
    expect(readFileSync(join(dir, CREDENTIAL_FILE), 'utf8')).toBe('{"version":1,"name":"alpha"');
  });
});
