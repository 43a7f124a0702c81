import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SecretBox, SecretKeyMissingError, secretKeyOf } from './secret-box.js';
import { loadSecretBox, SECRET_KEY_FILE, SecretKeyError } from './secret-keys.js';

const key = () => randomBytes(32);

describe('SecretBox', () => {
  it('opens what it sealed, and the sealed text holds neither the value nor the key', () => {
    const bytes = key();
    const box = new SecretBox(secretKeyOf(bytes));
    const sealed = box.seal('hunter2-password', 'app:1:DB_PASSWORD');
    expect(sealed).not.toContain('hunter2');
    expect(sealed).not.toContain(bytes.toString('base64'));
    expect(sealed.startsWith(`v1.${box.currentKeyId}.`)).toBe(true);
    expect(box.open(sealed, 'app:1:DB_PASSWORD')).toBe('hunter2-password');
    // A fresh IV each time: the same value never seals to the same text.
    expect(box.seal('hunter2-password', 'app:1:DB_PASSWORD')).not.toBe(sealed);
  });

  it('refuses a value moved to another context, or changed', () => {
    const box = new SecretBox(secretKeyOf(key()));
    const sealed = box.seal('s3cret', 'app:1:A');
    expect(() => box.open(sealed, 'app:2:A')).toThrow('does not open with key');
    const flipped = sealed.slice(0, -2) + (sealed.at(-2) === 'A' ? 'B' : 'A') + sealed.at(-1);
    expect(() => box.open(flipped, 'app:1:A')).toThrow('does not open with key');
    expect(() => box.open('plain', 'app:1:A')).toThrow('not a sealed secret');
  });

  it('opens values of a previous key after a rotation, says which to seal again, and names a missing key', () => {
    const old = secretKeyOf(key());
    const sealedBefore = new SecretBox(old).seal('v', 'c');
    const rotated = new SecretBox(secretKeyOf(key()), [old]);
    expect(rotated.open(sealedBefore, 'c')).toBe('v');
    expect(rotated.isCurrent(sealedBefore)).toBe(false);
    expect(rotated.isCurrent(rotated.seal('v', 'c'))).toBe(true);
    const withoutOld = new SecretBox(secretKeyOf(key()));
    expect(() => withoutOld.open(sealedBefore, 'c')).toThrow(SecretKeyMissingError);
    expect(() => withoutOld.open(sealedBefore, 'c')).toThrow(`key ${old.id}`);
  });
});

describe('loadSecretBox', () => {
  const root = mkdtempSync(join(tmpdir(), 'tapit-secret-keys-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('makes a 0600 key file at first start and reads the same key afterwards', () => {
    const dir = join(root, 'first', 'scheduler');
    const lines: string[] = [];
    const first = loadSecretBox({ dataDir: dir, log: (line) => lines.push(line) });
    const path = join(dir, SECRET_KEY_FILE);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(lines).toEqual([expect.stringContaining(`secret key made in ${path}`)]);
    const sealed = first.seal('x', 'c');
    const again = loadSecretBox({ dataDir: dir, log: (line) => lines.push(line) });
    expect(again.open(sealed, 'c')).toBe('x');
    expect(lines).toHaveLength(1);
    expect(readFileSync(path, 'utf8')).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
  });

  it('refuses a key file others may read, and bad keys, naming the setting and the rule', () => {
    const dir = join(root, 'loose');
    loadSecretBox({ dataDir: dir });
    chmodSync(join(dir, SECRET_KEY_FILE), 0o644);
    expect(() => loadSecretBox({ dataDir: dir })).toThrow(SecretKeyError);
    expect(() => loadSecretBox({ dataDir: dir })).toThrow('is open to other users (mode 0644)');
    expect(() => loadSecretBox({ dataDir: dir, key: 'short' })).toThrow('TAPIT_SECRET_KEY: must be 32 bytes in base64 (44 characters) or hex (64 characters)');
    expect(() => loadSecretBox({ dataDir: dir, key: key().toString('hex'), previous: 'nope' })).toThrow('TAPIT_SECRET_KEY_PREVIOUS: each comma-separated key must be 32 bytes');
  });

  it('takes TAPIT_SECRET_KEY in base64 or hex over the file, and previous keys comma-separated', () => {
    const dir = join(root, 'given');
    const old = key();
    const sealedByOld = loadSecretBox({ dataDir: dir, key: old.toString('hex') }).seal('kept', 'c');
    const current = key();
    const box = loadSecretBox({ dataDir: dir, key: current.toString('base64'), previous: ` ${key().toString('hex')} , ${old.toString('base64')}` });
    expect(box.currentKeyId).toBe(secretKeyOf(current).id);
    expect(box.open(sealedByOld, 'c')).toBe('kept');
    // A key given in the environment makes no file.
    expect(() => statSync(join(dir, SECRET_KEY_FILE))).toThrow();
  });
});
