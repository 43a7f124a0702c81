import { afterEach, describe, expect, it } from 'vitest';
import { CutOffWatch } from './cut-off-watch.js';

describe('CutOffWatch', () => {
  const watches: CutOffWatch[] = [];
  afterEach(() => watches.splice(0).forEach((w) => w.close()));
  const watch = () => {
    const fired: number[] = [];
    const w = new CutOffWatch((silentSeconds) => fired.push(silentSeconds), 20);
    watches.push(w);
    return { w, fired };
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('does nothing without the rule (an older scheduler sends none)', async () => {
    const { w, fired } = watch();
    w.welcomed(undefined);
    await sleep(1300);
    expect(fired).toEqual([]);
  });

  it('fires once the scheduler was not heard for the time given, once, until heard again', async () => {
    const { w, fired } = watch();
    w.welcomed({ afterSeconds: 1, stopGraceSeconds: 0 });
    for (let i = 0; i < 6; i++) {
      await sleep(200);
      w.heard(); // heard every 200 ms: never cut off
    }
    expect(fired).toEqual([]);
    await sleep(1300);
    expect(fired).toEqual([1]);
    await sleep(300);
    expect(fired).toEqual([1]);
    w.heard();
    await sleep(1300);
    expect(fired).toEqual([1, 1]);
  });
});
