import { describe, expect, it } from 'vitest';
import { MASK, SecretMask } from './secret-mask.js';

describe('SecretMask', () => {
  it('masks every occurrence of every value, the longest first, and leaves the rest', () => {
    const mask = new SecretMask(['hunter2-pass', 'hunter2-pass-long', 'tok$n.*']);
    expect(mask.apply('a hunter2-pass-long b hunter2-pass c tok$n.* d tokXn..\n')).toBe(`a ${MASK} b ${MASK} c ${MASK} d tokXn..\n`);
  });

  it('masks a value of several lines line by line, never a value shorter than four characters', () => {
    const mask = new SecretMask(['-----BEGIN KEY-----\nMIIEvQIBADANBg\n-----END KEY-----', 'abc', '']);
    expect(mask.apply('-----BEGIN KEY-----\nMIIEvQIBADANBg\n-----END KEY-----\nabc\n')).toBe(`${MASK}\n${MASK}\n${MASK}\nabc\n`);
    expect(new SecretMask(['no']).empty).toBe(true);
  });
});
