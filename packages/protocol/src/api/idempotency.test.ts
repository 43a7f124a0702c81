import { describe, expect, it } from 'vitest';
import { IdempotencyKey } from './idempotency.js';

describe('IdempotencyKey', () => {
  it('takes UUIDs, ULIDs, base64 and hex', () => {
    for (const key of ['0b1e6c9e-3d7a-4c55-9a51-2f1d6c0e8b47', '01HV3K8Z9Q2W4E6R8T0Y2U4I6O', 'q2W+/x9=abcdEFGH1234', 'a'.repeat(64)]) {
      expect(IdempotencyKey.safeParse(key).success, key).toBe(true);
    }
  });

  it.each([
    ['too short', 'abc'],
    ['too long', 'x'.repeat(256)],
    ['a space', 'has a space in it!'],
    ['a control character', 'abcdefgh\u001bijklmnop'],
    ['non-ASCII', 'ünïcödé-key-1234567'],
    ['a comma (a header list)', 'abcdefgh,ijklmnop'],
  ])('refuses %s', (_why, key) => {
    expect(IdempotencyKey.safeParse(key).success).toBe(false);
  });
});
