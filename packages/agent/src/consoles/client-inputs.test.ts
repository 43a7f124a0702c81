import { describe, expect, it } from 'vitest';
import { ClientInputs } from './client-inputs.js';

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);

describe('ClientInputs', () => {
  it('says nothing on a client’s first attach, then what it took from that client so far', () => {
    const inputs = new ClientInputs();
    expect(inputs.attached(A)).toBeUndefined();
    inputs.took(A, 5);
    inputs.took(A, 3);
    expect(inputs.attached(A)).toBe(8);
    inputs.took(A, 2);
    expect(inputs.attached(A)).toBe(10);
  });

  it('counts each client apart, and nothing for a client that never attached', () => {
    const inputs = new ClientInputs();
    inputs.attached(A);
    inputs.attached(B);
    inputs.took(A, 4);
    inputs.took(B, 1);
    inputs.took('c'.repeat(32), 9);
    expect(inputs.attached(A)).toBe(4);
    expect(inputs.attached(B)).toBe(1);
    expect(inputs.attached('c'.repeat(32))).toBeUndefined();
  });

  it('forgets the clients that attached longest ago past 64, not a recent one', () => {
    const inputs = new ClientInputs();
    inputs.attached(A);
    inputs.took(A, 7);
    for (let i = 0; i < 63; i++) inputs.attached(i.toString(16).padStart(32, '0'));
    // A attaches again: now the most recent, so the next newcomer pushes out the oldest other one.
    expect(inputs.attached(A)).toBe(7);
    inputs.attached(B);
    expect(inputs.attached(A)).toBe(7);
    expect(inputs.attached('0'.repeat(32))).toBeUndefined();
  });
});
