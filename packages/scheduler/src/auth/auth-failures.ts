import { addressKey } from '../http/address-key.js';

/** Why an authentication failed; never the secret that was presented. */
export type AuthFailureReason = 'missing token' | 'invalid token';

/** Where it failed: a fixed list, so nothing a client chose ends up in the log. */
export type AuthFailurePlace = 'the API' | 'a console upgrade' | 'the agent websocket' | 'a console dial-back' | 'a copy dial-back' | 'a replica relay' | 'the metrics endpoint' | 'the dashboard sign-in';

export interface AuthFailuresOptions {
  /** Invalid tokens an address may present in a burst; it then gets one more every 60/N seconds. */
  perMinute: number;
  log: (line: string) => void;
  /** How often the failures of each address are summed up in one log line. */
  summaryIntervalMs?: number;
  now?: () => number;
}

interface AddressState {
  /** Token bucket: full at `perMinute`, one taken per invalid token, refilled continuously. */
  tokens: number;
  refilledAt: number;
  /** Failures and 429s since the last line about this address. */
  missing: number;
  invalid: number;
  limited: number;
  /** Whether this address already had its immediate line in the current run of failures. */
  announced: boolean;
}

/** Invalid tokens an address may present in a burst (TAPIT_AUTH_FAILURES_PER_MINUTE). */
export const DEFAULT_AUTH_FAILURES_PER_MINUTE = 30;

/** Lines logged at once per interval, across addresses; the rest wait for the summary. */
const IMMEDIATE_LINES = 10;
/** Addresses summed up one per line per interval; the rest share one line. */
const SUMMARY_LINES = 10;
/** Addresses remembered; the least recently failing one is forgotten first. */
const MAX_ADDRESSES = 10_000;

/**
 * Failed authentications per client address: logged (once at once, then summed up per interval,
 * never the presented secret) and slowed (a token bucket per address; an empty bucket means 429
 * for every request from that address until it refills, before any token is looked up).
 * A missing token is counted but costs nothing: it guesses nothing and touches no database.
 */
export class AuthFailures {
  private readonly addresses = new Map<string, AddressState>();
  private readonly perMs: number;
  private readonly summaryIntervalMs: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private immediateLines = 0;

  constructor(private readonly options: AuthFailuresOptions) {
    this.perMs = options.perMinute / 60_000;
    this.summaryIntervalMs = options.summaryIntervalMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  /** Seconds until `address` may try again (for `Retry-After`), or 0 if it may now. */
  retryAfter(address: string | null | undefined): number {
    const state = this.addresses.get(addressKey(address));
    if (!state) return 0;
    this.refill(state);
    if (state.tokens >= 1) return 0;
    state.limited++;
    this.scheduleSummary();
    return Math.max(1, Math.ceil((1 - state.tokens) / this.perMs / 1000));
  }

  failed(address: string | null | undefined, reason: AuthFailureReason, place: AuthFailurePlace): void {
    const key = addressKey(address);
    let state = this.addresses.get(key);
    if (state) {
      this.addresses.delete(key); // re-inserted last: the map stays ordered by last failure
      this.refill(state);
    } else {
      if (this.addresses.size >= MAX_ADDRESSES) this.addresses.delete(this.addresses.keys().next().value!);
      state = { tokens: this.options.perMinute, refilledAt: this.now(), missing: 0, invalid: 0, limited: 0, announced: false };
    }
    this.addresses.set(key, state);
    if (reason === 'invalid token') state.tokens = Math.max(0, state.tokens - 1);
    if (!state.announced && this.immediateLines < IMMEDIATE_LINES) {
      state.announced = true;
      this.immediateLines++;
      this.options.log(`authentication failed from ${key}: ${reason} on ${place} (further failures from this address are summed up every ${this.summaryIntervalMs / 1000} s)`);
    } else if (reason === 'missing token') state.missing++;
    else state.invalid++;
    this.scheduleSummary();
  }

  /** Logs what is left to sum up and stops the timer. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.summarize();
  }

  private refill(state: AddressState): void {
    const now = this.now();
    state.tokens = Math.min(this.options.perMinute, state.tokens + (now - state.refilledAt) * this.perMs);
    state.refilledAt = now;
  }

  private scheduleSummary(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.summarize();
    }, this.summaryIntervalMs);
    this.timer.unref();
  }

  private summarize(): void {
    this.immediateLines = 0;
    const busy: [string, AddressState][] = [];
    for (const [key, state] of this.addresses) {
      if (state.missing + state.invalid + state.limited > 0) busy.push([key, state]);
      else {
        // A quiet interval ends the run: the next failure is announced at once again.
        state.announced = false;
        this.refill(state);
        if (state.tokens >= this.options.perMinute) this.addresses.delete(key);
      }
    }
    busy.sort((a, b) => total(b[1]) - total(a[1]));
    const seconds = Math.round(this.summaryIntervalMs / 1000);
    for (const [key, state] of busy.slice(0, SUMMARY_LINES)) {
      const failures = state.missing + state.invalid;
      const parts = [];
      if (failures > 0) parts.push(`authentication failed ${failures} more ${failures === 1 ? 'time' : 'times'} (invalid token ${state.invalid}, missing token ${state.missing})`);
      if (state.limited > 0) parts.push(`${state.limited} ${state.limited === 1 ? 'request' : 'requests'} refused with 429 (TAPIT_AUTH_FAILURES_PER_MINUTE)`);
      this.options.log(`from ${key} in the last ${seconds} s: ${parts.join('; ')}`);
    }
    const rest = busy.slice(SUMMARY_LINES);
    if (rest.length > 0) {
      this.options.log(`from ${rest.length} other addresses in the last ${seconds} s: ${rest.reduce((n, [, s]) => n + total(s), 0)} more failed authentications and 429s`);
    }
    for (const [, state] of busy) {
      state.missing = 0;
      state.invalid = 0;
      state.limited = 0;
    }
    if (busy.length > 0) this.scheduleSummary();
  }
}

const total = (s: AddressState) => s.missing + s.invalid + s.limited;
