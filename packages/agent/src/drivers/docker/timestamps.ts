/*
 * Docker's log timestamps (RFC 3339 with up to nanoseconds, any offset) as exact nanoseconds, so
 * a resumed read can skip exactly what was consumed; milliseconds would merge distinct lines.
 */
const RFC3339 = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/;

export function toNanos(ts: string): bigint | null {
  const m = RFC3339.exec(ts);
  if (!m) return null;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return null;
  return BigInt(ms / 1000) * 1_000_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/** The `since` parameter of the logs API: `seconds.nanoseconds`. */
export function toSinceParam(ts: string | bigint): string | undefined {
  const ns = typeof ts === 'bigint' ? ts : toNanos(ts);
  if (ns === null) return undefined;
  return `${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, '0')}`;
}

/**
 * The protocol's timestamp (milliseconds, UTC) for a Docker timestamp, moved by `shiftMs` from
 * the engine's clock to the agent's (EngineClock).
 */
export function toIso(ts: string, shiftMs = 0): string {
  const ns = toNanos(ts);
  return ns === null ? new Date().toISOString() : new Date(Number(ns / 1_000_000n) + shiftMs).toISOString();
}

/** Docker's zero time means "never". */
export function dockerTime(value: string | undefined, shiftMs = 0): string | null {
  if (!value || value.startsWith('0001-01-01')) return null;
  return toIso(value, shiftMs);
}
