/** A cumulative histogram as Prometheus keeps one: `counts[i]` observations were at most `buckets[i]`. */
export interface HistogramSnapshot {
  /** Upper bounds, ascending, in the unit observed (seconds for durations). */
  readonly buckets: readonly number[];
  readonly counts: readonly number[];
  readonly sum: number;
  readonly count: number;
}

/**
 * Counts observations into fixed buckets, whether or not anyone reads them: health and /metrics report the same
 * figures, and an observation costs a few comparisons.
 */
export class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(private readonly buckets: readonly number[]) {
    this.counts = buckets.map(() => 0);
  }

  observe(value: number): void {
    this.count++;
    this.sum += value;
    for (let i = this.buckets.length - 1; i >= 0 && value <= this.buckets[i]!; i--) this.counts[i]!++;
  }

  snapshot(): HistogramSnapshot {
    return { buckets: this.buckets, counts: [...this.counts], sum: this.sum, count: this.count };
  }
}
