import type { ClockReading } from '@tapit/protocol';

/** Readings kept; the one with the shortest round trip is believed (it has the least doubt). */
const KEPT = 4;

/**
 * The scheduler's clock as this agent reads it. Every time the agent reports goes out on the
 * scheduler's clock, so a host whose clock is minutes off still reports true starts, ends and
 * log times. Each exchange (hello → welcome, heartbeat → heartbeat.ack) is read the NTP way:
 * the agent's send and receive (its monotonic clock times the round trip, so a wall clock
 * stepped meanwhile does not matter) around the scheduler's receive and send.
 */
export class SchedulerClock {
  private readings: { offsetMs: number; roundTripMs: number }[] = [];
  /** From the readings, worked out once per reading (every log line is converted with it). */
  private current = 0;

  constructor(private readonly wallNow: () => number = Date.now, private readonly monotonicNow: () => number = () => performance.now()) {}

  /** A mark for `record`: the monotonic time a frame was sent. */
  mark(): number {
    return this.monotonicNow();
  }

  /** One exchange: the frame went out at `sentMark` (from `mark()`), the answer carried `reading`. */
  record(sentMark: number, reading: ClockReading): void {
    const receivedWall = this.wallNow();
    const elapsedMs = this.monotonicNow() - sentMark;
    const sentWall = receivedWall - elapsedMs;
    const schedulerReceived = Date.parse(reading.receivedAt);
    const schedulerSent = Date.parse(reading.sentAt);
    if (Number.isNaN(schedulerReceived) || Number.isNaN(schedulerSent)) return;
    const held = Math.max(0, schedulerSent - schedulerReceived);
    const roundTripMs = Math.max(0, elapsedMs - held);
    const offsetMs = (schedulerReceived - sentWall + (schedulerSent - receivedWall)) / 2;
    this.readings.push({ offsetMs, roundTripMs });
    if (this.readings.length > KEPT) this.readings.shift();
    let best = this.readings[0]!;
    for (const r of this.readings) if (r.roundTripMs <= best.roundTripMs) best = r;
    // Within half the round trip the clocks cannot be told apart: leave times as they are.
    this.current = Math.abs(best.offsetMs) <= best.roundTripMs / 2 ? 0 : Math.round(best.offsetMs);
  }

  /** Whether the scheduler's clock was read at least once (old schedulers never answer). */
  get synced(): boolean {
    return this.readings.length > 0;
  }

  /** Scheduler time minus this agent's time, in milliseconds (0 until read). */
  get offsetMs(): number {
    return this.current;
  }

  /** A time on this agent's clock (ISO), on the scheduler's. */
  toScheduler(agentTime: string): string {
    if (this.current === 0) return agentTime;
    const ms = Date.parse(agentTime);
    return Number.isNaN(ms) ? agentTime : new Date(ms + this.current).toISOString();
  }

  /** Now, on the scheduler's clock. */
  now(): string {
    return new Date(this.wallNow() + this.offsetMs).toISOString();
  }
}
