import { describe, expect, it } from 'vitest';
import { boundText } from './record.js';

describe('boundText', () => {
  it('keeps a short text as it is and cuts a long one to its bound, with an ellipsis', () => {
    expect(boundText('deploy bot')).toBe('deploy bot');
    expect(boundText('x'.repeat(30), 10)).toBe(`${'x'.repeat(9)}…`);
  });

  it('never cuts within a character: a lone surrogate half would be stored as U+FFFD, unlike the answer given', () => {
    // The 9th and 10th UTF-16 units are one emoji: the cut at 9 drops all of it.
    const cut = boundText(`${'x'.repeat(8)}😀tail`, 10);
    expect(cut).toBe(`${'x'.repeat(8)}…`);
    expect(cut.isWellFormed()).toBe(true);
  });
});
