import { describe, expect, it } from 'vitest';
import { backoffMs, isTransientNetworkError, isTransientStatus, reachedScheduler, retryAfterMs } from './retry.js';

describe('retry policy', () => {
  it('retries a lost answer; a refused connection only once the scheduler was reached; never a TLS or DNS failure', () => {
    for (const code of ['ECONNRESET', 'EPIPE', 'ETIMEDOUT']) expect(isTransientNetworkError({ code }, false), code).toBe(true);
    expect(isTransientNetworkError({ code: 'ECONNREFUSED' }, false)).toBe(false);
    expect(isTransientNetworkError({ code: 'ECONNREFUSED' }, true)).toBe(true);
    for (const code of ['SELF_SIGNED_CERT_IN_CHAIN', 'ENOTFOUND', 'ERR_TLS_CERT_ALTNAME_INVALID', undefined]) expect(isTransientNetworkError({ code }), code).toBe(false);
    expect(isTransientNetworkError(new Error('boom'))).toBe(false);
    expect([reachedScheduler({ code: 'ECONNRESET' }), reachedScheduler({ code: 'ECONNREFUSED' }), reachedScheduler({ code: 'ETIMEDOUT' })]).toEqual([true, false, false]);
  });

  it('retries 502, 503 and 504 only', () => {
    expect([500, 502, 503, 504, 429, 409].filter(isTransientStatus)).toEqual([502, 503, 504]);
  });

  it('reads Retry-After in seconds or as a date, capped at 30 s', () => {
    const now = Date.parse('2021-03-17T09:58:00Z');
    expect(retryAfterMs('2', now)).toBe(2000);
    expect(retryAfterMs('Wed, 17 Mar 2021 09:58:05 GMT', now)).toBe(5000);
    expect(retryAfterMs('3600', now)).toBe(30_000);
    expect(retryAfterMs('Wed, 17 Mar 2021 09:57:00 GMT', now)).toBe(0);
    expect([retryAfterMs(undefined), retryAfterMs(''), retryAfterMs('soon')]).toEqual([null, null, null]);
  });

  it('backs off exponentially, with jitter, up to 4 s', () => {
    for (let i = 0; i < 20; i++) {
      expect(backoffMs(1)).toBeGreaterThanOrEqual(187);
      expect(backoffMs(1)).toBeLessThanOrEqual(313);
      expect(backoffMs(10)).toBeLessThanOrEqual(5000);
      expect(backoffMs(10)).toBeGreaterThanOrEqual(3000);
    }
  });
});
