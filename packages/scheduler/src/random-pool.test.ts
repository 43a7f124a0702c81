import { describe, expect, it } from 'vitest';
import { pooledRandomBytes } from './random-pool.js';

describe('pooledRandomBytes', () => {
  it('hands out each byte once: 10,000 ids of 16 bytes are distinct, across pool refills', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 10_000; i++) ids.add(pooledRandomBytes(16).toString('hex'));
    expect(ids.size).toBe(10_000);
  });

  it('returns copies: changing one never changes the next', () => {
    const a = pooledRandomBytes(12);
    const before = Buffer.from(a);
    const b = pooledRandomBytes(12);
    b.fill(0);
    expect(a).toEqual(before);
  });

  it('looks random: each byte value about equally often over 1 MiB', () => {
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 256; i++) for (const byte of pooledRandomBytes(4096)) counts[byte]!++;
    // 4096 expected per value; a fixed or short-cycled source would be far off.
    expect(Math.min(...counts)).toBeGreaterThan(3500);
    expect(Math.max(...counts)).toBeLessThan(4700);
  });

  it('refuses more than the pool holds', () => {
    expect(() => pooledRandomBytes(4097)).toThrow(/at most 4096/);
  });
});
