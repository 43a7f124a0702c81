import { describe, expect, it } from 'vitest';
import { withTag } from './image-ref.js';

describe('withTag', () => {
  it('replaces an existing tag', () => expect(withTag('busybox:1.36', 'v2')).toBe('busybox:v2'));
  it('adds a tag where there was none', () => expect(withTag('team/app', 'v2')).toBe('team/app:v2'));
  it('keeps a registry port', () => expect(withTag('127.0.0.1:5000/app', 'v2')).toBe('127.0.0.1:5000/app:v2'));
  it('drops a digest that pinned the old tag', () =>
    expect(withTag('reg:5000/app:1@sha256:abc', 'v3')).toBe('reg:5000/app:v3'));
});
