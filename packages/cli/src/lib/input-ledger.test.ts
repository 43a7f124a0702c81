import { describe, expect, it } from 'vitest';
import { InputLedger } from './input-ledger.js';

describe('InputLedger', () => {
  it('gives back what the console did not take, nothing when it took all', () => {
    const ledger = new InputLedger();
    ledger.record(Buffer.from('echo a\r'));
    ledger.record(Buffer.from('echo b\r'));
    expect(ledger.after(14).toString()).toBe('');
    expect(ledger.after(7).toString()).toBe('echo b\r');
    expect(ledger.after(3).toString()).toBe('o a\recho b\r');
    expect(ledger.after(0).toString()).toBe('echo a\recho b\r');
    // A console that claims more than was sent (another CLI's count): nothing to resend.
    expect(ledger.after(99).toString()).toBe('');
  });

  it('keeps only the last 64 KiB: a console far behind gets what is kept', () => {
    const ledger = new InputLedger();
    for (let i = 0; i < 100; i++) ledger.record(Buffer.alloc(1024, i));
    const resent = ledger.after(0);
    expect(resent.length).toBeGreaterThanOrEqual(64 * 1024);
    expect(resent.length).toBeLessThan(66 * 1024);
    expect(resent[resent.length - 1]).toBe(99);
    expect(ledger.after(100 * 1024 - 3)).toEqual(Buffer.alloc(3, 99));
  });

  it('names its CLI with 32 hex digits, a new name for each', () => {
    expect(new InputLedger().client).toMatch(/^[0-9a-f]{32}$/);
    expect(new InputLedger().client).not.toBe(new InputLedger().client);
  });
});
