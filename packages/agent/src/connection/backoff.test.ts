import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.js';

describe('Backoff', () => {
  it('doubles its ceiling up to the cap, with full jitter below it', () => {
    const top = new Backoff(250, 10_000, () => 0.9999);
    const ceilings = Array.from({ length: 8 }, () => top.next());
    expect(ceilings).toEqual([249, 499, 999, 1999, 3999, 7999, 9999, 9999]);
    expect(new Backoff(250, 10_000, () => 0).next()).toBe(0);
  });

  it('starts over after reset', () => {
    const b = new Backoff(100, 1000, () => 0.5);
    b.next();
    b.next();
    b.reset();
    expect(b.next()).toBe(50);
  });
});
