/**
 * The one backoff of the gateway: capped exponential, with AWS's "full jitter" above a floor. The n-th wait (n = 0
 * after the first failure) is drawn uniformly between `initialMs` and a ceiling that doubles from 2·initialMs up to
 * `maxMs`.
 *
 * Why full jitter: in AWS's analysis ("Exponential Backoff And Jitter") it spreads clients that failed together the
 * widest, for the least total work and the quickest completion; equal jitter (the upper half only) does more work, and
 * a few percent around the exponential barely spreads them. Gateways that lost the same central broker, InfluxDB or
 * mail server at the same instant are exactly that herd. Why a floor: plain full jitter may draw a wait near zero,
 * which would hammer a dead device or port; `initialMs` is the shortest wait any caller configured.
 * Randomness starts at the first retry, because gateways failing together would otherwise all knock again together.
 */
export interface BackoffOptions {
  /** The shortest wait, and half the first ceiling. Clamped to `maxMs`. */
  readonly initialMs: number;
  /** The longest wait. */
  readonly maxMs: number;
  /** A number in [0, 1); tests pass their own. */
  readonly random?: () => number;
}

/** The wait before retry `attempt` (0 after the first failure), in whole milliseconds within [min(initialMs, maxMs), maxMs]. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const floor = Math.min(initialMs, maxMs);
  // 2^30 already passes any cap; a bigger exponent would only risk Infinity.
  const ceiling = Math.min(maxMs, floor * 2 ** Math.min(attempt + 1, 30));
  return Math.round(floor + (ceiling - floor) * random());
}

/** Counts consecutive failures and tells how long to wait before the next try; `reset()` after a success. */
export class Backoff {
  private attempt = 0;

  constructor(private readonly opts: BackoffOptions) {
    if (!(opts.initialMs > 0) || !(opts.maxMs > 0)) throw new RangeError(`backoff needs positive bounds, got initialMs ${opts.initialMs}, maxMs ${opts.maxMs}`);
  }

  /** Failures since the last reset. */
  get failures(): number {
    return this.attempt;
  }

  /** Notes a failure and returns the wait before the next try. */
  next(): number {
    return backoffDelay(this.attempt++, this.opts.initialMs, this.opts.maxMs, this.opts.random);
  }

  reset(): void {
    this.attempt = 0;
  }
}
