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

  it('finds a key by a hash that is not the key', () => {
    expect(keyHash(key)).toMatch(/^[0-9a-f]{64}$/);
    expect(keyHash(key)).not.toContain(key);
    expect(keyHash(key)).toBe(keyHash(key));
  });
});
