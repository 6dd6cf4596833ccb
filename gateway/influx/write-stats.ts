/** How a write request failed (see WriteOutcome): what the forwarder makes of it. */
export type WriteFailure = 'retry' | 'unauthorized' | 'not_found' | 'rejected';

/** Upper bounds (seconds) of the write-latency buckets: a local server answers in milliseconds, a far one in seconds. */
export const WRITE_LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/** Write requests to InfluxDB: how long they took (a cumulative histogram, as Prometheus keeps one) and how they failed. */
export interface WriteStats {
  readonly latency: {
    /** Upper bounds in seconds; `counts[i]` requests took at most `buckets[i]` (cumulative), `count` all of them. */
    readonly buckets: readonly number[];
    readonly counts: readonly number[];
    readonly sumSeconds: number;
    readonly count: number;
  };
  /** Requests that did not succeed, by what the forwarder makes of them. */
  readonly failures: Readonly<Record<WriteFailure, number>>;
}

export class WriteRecorder {
  private readonly counts = WRITE_LATENCY_BUCKETS.map(() => 0);
  private sumSeconds = 0;
  private count = 0;
  private readonly failures: Record<WriteFailure, number> = { retry: 0, unauthorized: 0, not_found: 0, rejected: 0 };

  record(seconds: number, outcome: 'ok' | WriteFailure): void {
    this.count++;
    this.sumSeconds += seconds;
    for (let i = 0; i < WRITE_LATENCY_BUCKETS.length; i++) if (seconds <= WRITE_LATENCY_BUCKETS[i]!) this.counts[i]!++;
    if (outcome !== 'ok') this.failures[outcome]++;
  }

  stats(): WriteStats {
    return { latency: { buckets: WRITE_LATENCY_BUCKETS, counts: [...this.counts], sumSeconds: this.sumSeconds, count: this.count }, failures: { ...this.failures } };
  }
}
