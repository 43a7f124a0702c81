import type { IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretBox, secretKeyOf } from '../secrets/secret-box.js';
import { RelayCredential } from './relay-credential.js';

const request = (bearer?: string) => ({ headers: bearer === undefined ? {} : { authorization: `Bearer ${bearer}` } }) as IncomingMessage;

describe('RelayCredential', () => {
  const oldKey = secretKeyOf(randomBytes(32));
  const newKey = secretKeyOf(randomBytes(32));

  it('is made by every replica with the same key, and by nothing else', () => {
    const a = new RelayCredential(new SecretBox(newKey));
    const b = new RelayCredential(new SecretBox(newKey));
    expect(b.accepts(request(a.bearer))).toBe(true);
    expect(new RelayCredential(new SecretBox(secretKeyOf(randomBytes(32)))).accepts(request(a.bearer))).toBe(false);
    for (const other of [undefined, '', 'tapit-user-token-aaaaaaaaaaaaaaaa', a.bearer.slice(1)]) expect(b.accepts(request(other))).toBe(false);
  });

  it('accepts one from a previous key during a rotation rolled out replica by replica', () => {
    const notYetRotated = new RelayCredential(new SecretBox(oldKey));
    const rotated = new RelayCredential(new SecretBox(newKey, [oldKey]));
    expect(rotated.accepts(request(notYetRotated.bearer))).toBe(true);
    expect(notYetRotated.accepts(request(rotated.bearer))).toBe(false);
  });
});
