/**
 * A client's publish allowance: a token bucket of `rate` publishes per second with bursts of up to `burst`. Beyond it
 * each publish waits its turn — debt accumulates, so a flood waits longer and longer while a well-behaved client
 * never waits at all.
 */
export class PublishThrottle {
  private tokens: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private last: number,
  ) {
    this.tokens = burst;
  }

  /**
   * Milliseconds this publish must wait before it is handled (0: at once). `now` is monotonic (performance.now()):
   * on the wall clock, a correction an hour back would hold every client's publishes for an hour.
   */
  take(now: number): number {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.rate) / 1000);
    this.last = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.rate);
  }
}
