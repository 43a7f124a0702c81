import { describe, expect, it } from 'vitest';
import { DetachDetector } from './detach-keys.js';

const bytes = (...values: number[]) => Uint8Array.from(values);
const text = (s: string) => new TextEncoder().encode(s);

describe('DetachDetector', () => {
  it('passes ordinary input through unchanged, control keys included', () => {
    const detector = new DetachDetector();
    const input = bytes(0x61, 0x03, 0x1b, 0x5b, 0x41, 0x04, 0x11, 0x00, 0xff);
    expect(detector.scan(input)).toEqual({ forward: input, detach: false });
    expect(detector.holding).toBe(false);
  });

  it('detaches on Ctrl-P Ctrl-Q in one read, forwarding what came before and dropping what came after', () => {
    const detector = new DetachDetector();
    expect(detector.scan(bytes(0x6c, 0x73, 0x10, 0x11, 0x78))).toEqual({ forward: text('ls'), detach: true });
  });

  it('detaches when the sequence is split across reads', () => {
    const detector = new DetachDetector();
    expect(detector.scan(bytes(0x61, 0x10))).toEqual({ forward: text('a'), detach: false });
    expect(detector.holding).toBe(true);
    expect(detector.scan(bytes(0x11))).toEqual({ forward: bytes(), detach: true });
  });

  it('releases a held Ctrl-P, in order, when anything else follows', () => {
    const detector = new DetachDetector();
    expect(detector.scan(bytes(0x10))).toEqual({ forward: bytes(), detach: false });
    expect(detector.scan(bytes(0x62, 0x63))).toEqual({ forward: bytes(0x10, 0x62, 0x63), detach: false });
    expect(detector.holding).toBe(false);
  });

  it('Ctrl-P Ctrl-P Ctrl-Q sends one Ctrl-P and detaches', () => {
    const detector = new DetachDetector();
    expect(detector.scan(bytes(0x10, 0x10, 0x11))).toEqual({ forward: bytes(0x10), detach: true });
  });

  it('Ctrl-Q alone is input, not a detach', () => {
    const detector = new DetachDetector();
    expect(detector.scan(bytes(0x11, 0x71))).toEqual({ forward: bytes(0x11, 0x71), detach: false });
  });

  it('flush releases a lone held Ctrl-P, and a later Ctrl-Q is then just input', () => {
    const detector = new DetachDetector();
    detector.scan(bytes(0x10));
    expect(detector.flush()).toEqual(bytes(0x10));
    expect(detector.holding).toBe(false);
    expect(detector.scan(bytes(0x11))).toEqual({ forward: bytes(0x11), detach: false });
    expect(detector.flush()).toEqual(bytes());
  });
});
