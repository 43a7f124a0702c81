import { describe, expect, it } from 'vitest';
import { WakeSignal } from './wake-signal.js';

describe('WakeSignal', () => {
  it('waits the whole time when nobody wakes it', async () => {
    const signal = new WakeSignal();
    const started = Date.now();
    await signal.wait(60);
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
  });

  it('returns when woken during the wait', async () => {
    const signal = new WakeSignal();
    const waiting = signal.wait(600_000);
    signal.wake();
    await waiting;
  });

  it('keeps a wake that came before the wait, once', async () => {
    const signal = new WakeSignal();
    signal.wake();
    await signal.wait(600_000);
    const started = Date.now();
    await signal.wait(40);
    expect(Date.now() - started).toBeGreaterThanOrEqual(35);
  });
});
