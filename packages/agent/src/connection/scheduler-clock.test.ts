import { describe, expect, it } from 'vitest';
import { SchedulerClock } from './scheduler-clock.js';

/** A fake pair of clocks: the agent's wall clock runs `skewMs` off the scheduler's. */
function clocks(skewMs: number) {
  let real = Date.parse('2021-03-17T09:58:34.000Z');
  let monotonic = 1_000;
  const clock = new SchedulerClock(() => real + skewMs, () => monotonic);
  const pass = (ms: number) => {
    real += ms;
    monotonic += ms;
  };
  const schedulerTime = () => new Date(real).toISOString();
  return { clock, pass, schedulerTime, step: (ms: number) => (skewMs += ms) };
}

describe('SchedulerClock', () => {
  it.each([600_000, -600_000, 0])('learns an agent clock %i ms off from one exchange, whatever the scheduler took to answer', (skew) => {
    const { clock, pass, schedulerTime } = clocks(skew);
    const mark = clock.mark();
    pass(20); // on the way
    const receivedAt = schedulerTime();
    pass(300); // the scheduler reconciled for a while
    const sentAt = schedulerTime();
    pass(20); // on the way back
    clock.record(mark, { receivedAt, sentAt });
    expect(clock.offsetMs).toBe(-skew || 0);
    expect(clock.now()).toBe(schedulerTime());
    expect(clock.toScheduler(new Date(Date.parse(schedulerTime()) + skew).toISOString())).toBe(schedulerTime());
  });

  it('is off by at most half the round trip when the way there and back differ', () => {
    const { clock, pass, schedulerTime } = clocks(5_000);
    const mark = clock.mark();
    pass(100);
    const at = schedulerTime();
    clock.record(mark, { receivedAt: at, sentAt: at });
    expect(Math.abs(clock.offsetMs + 5_000)).toBeLessThanOrEqual(50);
  });

  it('believes the reading with the shortest round trip, and follows a stepped clock within a few readings', () => {
    const { clock, pass, schedulerTime, step } = clocks(0);
    const exchange = (there: number, back: number) => {
      const mark = clock.mark();
      pass(there);
      const at = schedulerTime();
      pass(back);
      clock.record(mark, { receivedAt: at, sentAt: at });
    };
    exchange(1, 1);
    exchange(900, 1); // a slow, lopsided one: 449 ms of doubt
    expect(clock.offsetMs).toBe(0);
    step(60_000);
    for (let i = 0; i < 4; i++) exchange(1, 1);
    expect(clock.offsetMs).toBe(-60_000);
  });

  it('leaves times as they are when the offset is within the doubt of the round trip', () => {
    const { clock, pass, schedulerTime } = clocks(30);
    const mark = clock.mark();
    pass(40);
    const at = schedulerTime();
    pass(40);
    clock.record(mark, { receivedAt: at, sentAt: at });
    expect(clock.offsetMs).toBe(0);
  });

  it('passes times through unchanged until the scheduler answered (an older scheduler never does)', () => {
    const { clock } = clocks(600_000);
    expect(clock.synced).toBe(false);
    expect(clock.toScheduler('2021-03-17T09:58:34.000Z')).toBe('2021-03-17T09:58:34.000Z');
  });
});
