/**
 * The rate of change of one series over a sliding window: (newest − oldest) / elapsed, in units per `perMs`.
 * A rate is only given once the samples span at least half the window, so two noisy readings a second apart cannot
 * pass for a steep minute-long rise.
 */
export class RateWindow {
  private times: number[] = [];
  private values: number[] = [];
  private head = 0;

  constructor(private readonly perMs: number) {}

  /**
   * Adds a sample (timestamps in ms, in order) and returns the rate, or undefined while the window is too short.
   * A sample a little out of order is ignored; one more than a window behind means the clock went back, and the
   * window starts afresh rather than ignoring everything until the clock has caught up.
   */
  add(ts: number, value: number): number | undefined {
    const last = this.times.at(-1);
    if (last !== undefined && ts <= last) {
      if (last - ts <= this.perMs) return undefined;
      this.times = [];
      this.values = [];
      this.head = 0;
    }
    this.times.push(ts);
    this.values.push(value);
    while (this.head < this.times.length - 1 && ts - this.oldestAt(ts) > this.perMs) this.head++;
    if (this.head > 64 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.values = this.values.slice(this.head);
      this.head = 0;
    }
    const span = ts - this.oldestAt(ts);
    if (span < this.perMs / 2) return undefined;
    return ((value - (this.values[this.head] ?? value)) / span) * this.perMs;
  }

  /** The time of the oldest sample in the window; the window always holds the newest, `ts`, at least. */
  private oldestAt(ts: number): number {
    return this.times[this.head] ?? ts;
  }
}
