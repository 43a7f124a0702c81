import { createCipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { keyHash, seal, unseal } from './seal.js';

describe('sealed answers', () => {
  const key = '0b1e6c9e-3d7a-4c55-9a51-2f1d6c0e8b47';

  it('opens with the same key and token, and shows nothing of the text', () => {
    const sealed = seal(key, 'ci', '{"token":"tapit_secret"}');
    expect(sealed).not.toContain('tapit_secret');
    expect(Buffer.from(sealed, 'base64').toString('latin1')).not.toContain('tapit_secret');
    expect(unseal(key, 'ci', sealed)).toBe('{"token":"tapit_secret"}');
  });

  it('does not open with another key or another token, or once altered', () => {
    const sealed = seal(key, 'ci', 'answer');
    expect(() => unseal(`${key}x`, 'ci', sealed)).toThrow();
    expect(() => unseal(key, 'other', sealed)).toThrow();
    const altered = Buffer.from(sealed, 'base64');
    altered[altered.length - 1] ^= 1;
    expect(() => unseal(key, 'ci', altered.toString('base64'))).toThrow();
  });

  it('opens answers sealed with the key as hkdfSync derives it (stored before the derivation was written out)', () => {
    for (const [idempotencyKey, principal] of [[key, 'ci'], ['k', 'a'], ['ключ-🔑'.repeat(40), 'ops team ü'], ['x'.repeat(300), 'p'.repeat(100)], ['k', '']]) {
      const derived = Buffer.from(hkdfSync('sha256', idempotencyKey, principal, 'tapit idempotency response', 32));
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', derived, iv);
      const body = Buffer.concat([cipher.update('{"id":"t1"}', 'utf8'), cipher.final()]);
      const sealed = Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
      expect(unseal(idempotencyKey, principal, sealed)).toBe('{"id":"t1"}');
    }
  });

  it('finds a key by a hash that is not the key', () => {
    expect(keyHash(key)).toMatch(/^[0-9a-f]{64}$/);
    expect(keyHash(key)).not.toContain(key);
    expect(keyHash(key)).toBe(keyHash(key));
  });
});
