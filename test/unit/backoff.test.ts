/** The one backoff: capped exponential with full jitter above a floor, checked on arbitrary bounds, attempts and draws. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Backoff, backoffDelay } from '../../gateway/util/backoff.js';

const ms = fc.integer({ min: 1, max: 24 * 3_600_000 });
const attempt = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));
const draw = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe('backoffDelay', () => {
  it('always lies between the floor (initial, clamped to max) and max, in whole milliseconds', () => {
    fc.assert(
      fc.property(attempt, ms, ms, draw, (n, initial, max, r) => {
        const delay = backoffDelay(n, initial, max, () => r);
        expect(Number.isInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(Math.min(initial, max));
        expect(delay).toBeLessThanOrEqual(max);
      }),
    );
  });

  it('grows with the attempt for the same draw, and its ceiling doubles from 2·initial up to max', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), ms, ms, draw, (n, initial, max, r) => {
        expect(backoffDelay(n + 1, initial, max, () => r)).toBeGreaterThanOrEqual(backoffDelay(n, initial, max, () => r));
        const floor = Math.min(initial, max);
        expect(backoffDelay(n, initial, max, () => 1)).toBe(Math.min(max, floor * 2 ** (n + 1)));
      }),
    );
  });

  it('is random from the first retry on: the first wait covers initial to 2·initial', () => {
    expect(backoffDelay(0, 500, 30_000, () => 0)).toBe(500);
    expect(backoffDelay(0, 500, 30_000, () => 0.5)).toBe(750);
    expect(backoffDelay(0, 500, 30_000, () => 0.999_999)).toBe(1000);
  });

  it('waits max when initial is longer than max (a poll interval above backoff_max)', () => {
    expect(backoffDelay(0, 60_000, 30_000, () => 0.3)).toBe(30_000);
    expect(backoffDelay(7, 60_000, 30_000, () => 0.9)).toBe(30_000);
  });
});

describe('Backoff', () => {
  it('counts failures, and after reset starts again from the first wait', () => {
    fc.assert(
      fc.property(ms, ms, fc.array(draw, { minLength: 1, maxLength: 40 }), fc.integer({ min: 0, max: 40 }), (initial, max, draws, failuresBefore) => {
        let i = 0;
        const random = (): number => draws[i++ % draws.length]!;
        const backoff = new Backoff({ initialMs: initial, maxMs: max, random });
        for (let k = 0; k < failuresBefore; k++) backoff.next();
        expect(backoff.failures).toBe(failuresBefore);
        backoff.reset();
        expect(backoff.failures).toBe(0);
        const r = draws[i % draws.length]!;
        expect(backoff.next()).toBe(backoffDelay(0, initial, max, () => r));
        expect(backoff.failures).toBe(1);
      }),
    );
  });

  it('spreads gateways that failed together: 1000 first waits fill initial to 2·initial', () => {
    const waits = Array.from({ length: 1000 }, () => new Backoff({ initialMs: 1000, maxMs: 60_000 }).next());
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...waits)).toBeLessThanOrEqual(2000);
    // Ten buckets of 100 ms, each hit: no lockstep.
    expect(new Set(waits.map((w) => Math.min(9, Math.floor((w - 1000) / 100)))).size).toBe(10);
  });

  it('refuses bounds that would retry at once', () => {
    expect(() => new Backoff({ initialMs: 0, maxMs: 1000 })).toThrow(RangeError);
    expect(() => new Backoff({ initialMs: 100, maxMs: Number.NaN })).toThrow(RangeError);
  });
});
