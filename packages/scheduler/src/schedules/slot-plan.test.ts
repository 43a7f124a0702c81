import { describe, expect, it } from 'vitest';
import { parseCronSpec } from './cron-spec.js';
import { RETRY_BACKOFF_CAP_MS, retryDelayMs } from './limits.js';
import { planSlots, type PlanInput } from './slot-plan.js';

const everySecond = parseCronSpec('*/1 * * * * *');
const at = (seconds: number) => new Date(Date.UTC(2024, 0, 1, 12, 0, 0) + seconds * 1000);
const plan = (input: Partial<PlanInput>) =>
  planSlots(everySecond, { from: at(0), now: at(10.5), missedAfterSeconds: 3, missed: 'skip', startingDeadlineSeconds: null, ...input });
const actions = (steps: Awaited<ReturnType<typeof plan>>['steps']) => steps.map((s) => `${(s.at.getTime() - at(0).getTime()) / 1000}:${s.action}`);

describe('planSlots', () => {
  it('fires the slots within the tolerance, late, and skips the older ones as missed', async () => {
    const result = await plan({});
    expect(actions(result.steps)).toEqual(['0:skip', '1:skip', '2:skip', '3:skip', '4:skip', '5:skip', '6:skip', '7:skip', '8:fire', '9:fire', '10:fire']);
    expect(result.missed).toBe(8);
    expect(result.next).toEqual(at(11));
  });

  it('fires everything on time when nothing is older than the tolerance', async () => {
    const result = await plan({ from: at(9) });
    expect(actions(result.steps)).toEqual(['9:fire', '10:fire']);
    expect(result.missed).toBe(0);
  });

  it('missed=latest: with a later slot firing now, every missed slot is skipped', async () => {
    const result = await plan({ missed: 'latest' });
    expect(actions(result.steps).filter((a) => a.endsWith('fire'))).toEqual(['8:fire', '9:fire', '10:fire']);
    expect(result.steps[0]).toMatchObject({ reason: expect.stringContaining('; a later slot ran (missed=latest)') });
  });

  it('missed=latest: with none on time, the latest missed slot fires within startingDeadlineSeconds only', async () => {
    const onlyMissed = { missed: 'latest' as const, now: at(20), from: at(0), missedAfterSeconds: 3 };
    const within = await planSlots(parseCronSpec('*/5 * * * * *'), { ...onlyMissed, startingDeadlineSeconds: 60 });
    // Slots 0, 5, 10, 15 are missed (20 is on time and fires).
    expect(actions(within.steps)).toEqual(['0:skip', '5:skip', '10:skip', '15:skip', '20:fire']);
    const sparse = await planSlots(parseCronSpec('*/5 * * * * *'), { ...onlyMissed, now: at(19), startingDeadlineSeconds: 10 });
    expect(actions(sparse.steps)).toEqual(['0:skip', '5:skip', '10:skip', '15:fire']);
    const tooLate = await planSlots(parseCronSpec('*/5 * * * * *'), { ...onlyMissed, now: at(19), startingDeadlineSeconds: 2 });
    expect(actions(tooLate.steps)).toEqual(['0:skip', '5:skip', '10:skip', '15:skip']);
    expect(tooLate.steps[0]).toMatchObject({ reason: expect.stringContaining('not fired within 2 s of its time') });
  });

  it('records at most 50 missed slots: the first, counting the ones left out, and the newest', async () => {
    // Slots 0…5000: 4999 and 5000 are on time, the 4999 before them missed.
    const result = await plan({ now: at(5000), missedAfterSeconds: 1 });
    const skips = result.steps.filter((s) => s.action === 'skip');
    expect(skips).toHaveLength(50);
    expect(skips[0]!.at).toEqual(at(0));
    expect(skips[1]!.at).toEqual(at(4950));
    expect(skips[0]).toMatchObject({ reason: expect.stringContaining('; the 4949 missed slots between it and 2024-01-01T13:22:30+00:00 are not recorded one by one') });
    expect(result.missed).toBe(4999);
  });
});

describe('retryDelayMs', () => {
  it('doubles from the base and stops at the cap', () => {
    expect([1, 2, 3, 4].map((n) => retryDelayMs(10_000, n))).toEqual([10_000, 20_000, 40_000, 80_000]);
    expect(retryDelayMs(10_000, 10)).toBe(RETRY_BACKOFF_CAP_MS);
  });
});
