/** Milliseconds left of `maxHours` for a task that has run `ranMs` (may be negative). */
export function msLeftOf(maxHours: number, ranMs: number): number {
  return maxHours * 3_600_000 - ranMs;
}

/** Bytes allowed on a task's own filesystem (GB as GiB, like memory). */
export function storageLimitBytes(gb: number): number {
  return Math.floor(gb * 1024 ** 3);
}

/** setTimeout caps at ~24.8 days; longer deadlines re-arm in steps. */
export function setLongTimeout(fn: () => void, ms: number): { clear(): void } {
  let timer: NodeJS.Timeout;
  const arm = (left: number) => {
    const step = Math.min(Math.max(left, 0), 2 ** 31 - 1);
    timer = setTimeout(() => (left - step > 0 ? arm(left - step) : fn()), step);
    timer.unref?.();
  };
  arm(ms);
  return { clear: () => clearTimeout(timer) };
}
