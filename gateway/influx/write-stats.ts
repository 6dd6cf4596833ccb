import { Histogram, type HistogramSnapshot } from '../util/histogram.js';

/** How a write request failed (see WriteOutcome): what the forwarder makes of it. */
export type WriteFailure = 'retry' | 'unauthorized' | 'not_found' | 'rejected';

/** Upper bounds (seconds) of the write-latency buckets: a local server answers in milliseconds, a far one in seconds. */
export const WRITE_LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/** Write requests to InfluxDB: how long they took and how they failed. */
export interface WriteStats {
  /** Seconds each request took. */
  readonly latency: HistogramSnapshot;
  /** Requests that did not succeed, by what the forwarder makes of them. */
  readonly failures: Readonly<Record<WriteFailure, number>>;
}

export class WriteRecorder {
  private readonly latency = new Histogram(WRITE_LATENCY_BUCKETS);
  private readonly failures: Record<WriteFailure, number> = { retry: 0, unauthorized: 0, not_found: 0, rejected: 0 };

  record(seconds: number, outcome: 'ok' | WriteFailure): void {
    this.latency.observe(seconds);
    if (outcome !== 'ok') this.failures[outcome]++;
  }

  stats(): WriteStats {
    return { latency: this.latency.snapshot(), failures: { ...this.failures } };
  }
}
