import { describe, expect, it } from 'vitest';
import { AuthFailures } from './auth-failures.js';

describe('AuthFailures', () => {
  const make = (perMinute = 6) => {
    let now = 1_000_000;
    const lines: string[] = [];
    const failures = new AuthFailures({ perMinute, log: (l) => lines.push(l), now: () => now });
    return { failures, lines, advance: (ms: number) => (now += ms) };
  };

  it('lets an address fail a burst of times, then asks it to wait until one more is allowed', () => {
    const { failures, advance } = make(6);
    for (let i = 0; i < 6; i++) {
      expect(failures.retryAfter('10.0.0.1')).toBe(0);
      failures.failed('10.0.0.1', 'invalid token', 'the API');
    }
    expect(failures.retryAfter('10.0.0.1')).toBe(10); // one every 60/6 s
    advance(4_000);
    expect(failures.retryAfter('10.0.0.1')).toBe(6);
    advance(6_000);
    expect(failures.retryAfter('10.0.0.1')).toBe(0);
    // Others are not slowed by it.
    expect(failures.retryAfter('10.0.0.2')).toBe(0);
    failures.close();
  });

  it('does not slow an address for a missing token, but counts it', () => {
    const { failures, lines } = make(2);
    for (let i = 0; i < 50; i++) failures.failed('10.0.0.3', 'missing token', 'a console upgrade');
    expect(failures.retryAfter('10.0.0.3')).toBe(0);
    failures.close();
    expect(lines).toEqual([
      'authentication failed from 10.0.0.3: missing token on a console upgrade (further failures from this address are summed up every 60 s)',
      'from 10.0.0.3 in the last 60 s: authentication failed 49 more times (invalid token 0, missing token 49)',
    ]);
  });

  it('counts the addresses of one IPv6 /64 together', () => {
    const { failures } = make(2);
    failures.failed('2001:db8:1:2::1', 'invalid token', 'the API');
    failures.failed('2001:db8:1:2:ffff::9', 'invalid token', 'the API');
    expect(failures.retryAfter('2001:0db8:0001:0002:0:0:0:abcd')).toBeGreaterThan(0);
    expect(failures.retryAfter('2001:db8:1:3::1')).toBe(0);
    failures.close();
  });

  it('logs a bounded number of lines however many addresses fail', () => {
    const { failures, lines } = make(2);
    for (let i = 0; i < 500; i++) {
      const address = `10.1.${Math.floor(i / 250)}.${i % 250}`;
      failures.failed(address, 'invalid token', 'the agent websocket');
      failures.failed(address, 'invalid token', 'the agent websocket');
      failures.retryAfter(address);
    }
    failures.close();
    expect(lines.length).toBeLessThanOrEqual(10 + 10 + 1);
    expect(lines.at(-1)).toMatch(/^from 490 other addresses in the last 60 s: \d+ more failed authentications and 429s$/);
  });
});
