import { describe, expect, it } from 'vitest';
import { RingBuffer } from './ring-buffer.js';

describe('RingBuffer', () => {
  it('keeps everything below its capacity, in order', () => {
    const ring = new RingBuffer(10);
    ring.push(Buffer.from('abc'));
    ring.push(Buffer.from('def'));
    expect(ring.contents().toString()).toBe('abcdef');
    expect(ring.length).toBe(6);
  });

  it('keeps only the newest bytes once full, across the wrap', () => {
    const ring = new RingBuffer(5);
    ring.push(Buffer.from('abcd'));
    ring.push(Buffer.from('efg'));
    expect(ring.contents().toString()).toBe('cdefg');
    ring.push(Buffer.from('h'));
    expect(ring.contents().toString()).toBe('defgh');
    ring.push(Buffer.from('0123456789'));
    expect(ring.contents().toString()).toBe('56789');
    expect(ring.length).toBe(5);
  });

  it('matches a plain concatenation under random writes', () => {
    const ring = new RingBuffer(64);
    let all = Buffer.alloc(0);
    for (let i = 0; i < 500; i++) {
      const chunk = Buffer.alloc(Math.floor(Math.random() * 90), String.fromCharCode(97 + (i % 26)));
      ring.push(chunk);
      all = Buffer.concat([all, chunk]);
      expect(ring.contents().equals(all.subarray(Math.max(0, all.length - 64)))).toBe(true);
    }
  });
});
