import { describe, expect, it } from 'vitest';
import { LoginLimiter } from '../../src/auth/rate-limit.js';
import { OciError } from '../../src/oci/errors.js';

describe('LoginLimiter', () => {
  it('refuses a client after its failures in the window, with Retry-After, until the window ends', () => {
    let now = 1_000_000;
    const limiter = new LoginLimiter({ failures: 3, windowMs: 60_000 }, () => now);
    for (let i = 0; i < 3; i++) {
      limiter.check('10.0.0.1');
      limiter.failed('10.0.0.1');
    }
    now += 20_000;
    const refused = (() => {
      try {
        limiter.check('10.0.0.1');
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(refused).toBeInstanceOf(OciError);
    expect(refused).toMatchObject({ code: 'TOOMANYREQUESTS', status: 429, headers: { 'Retry-After': '40' } });
    // Other clients are not affected.
    expect(() => limiter.check('10.0.0.2')).not.toThrow();
    now += 40_000;
    expect(() => limiter.check('10.0.0.1')).not.toThrow();
  });

  it('keeps at most 10,000 clients, dropping expired windows first, then the oldest', () => {
    let now = 0;
    const limiter = new LoginLimiter({ failures: 1, windowMs: 1_000 }, () => now);
    for (let i = 0; i < 10_000; i++) limiter.failed(`a${i}`);
    expect(limiter.size).toBe(10_000);
    limiter.failed('b0');
    expect(limiter.size).toBe(10_000);
    // The oldest went, the newest stays refused.
    expect(() => limiter.check('a0')).not.toThrow();
    expect(() => limiter.check('b0')).toThrow(/too many failed logins/);
    now = 5_000;
    limiter.failed('c0');
    expect(limiter.size).toBe(1);
  });
});
