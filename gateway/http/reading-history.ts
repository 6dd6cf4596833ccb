import type { Reading } from '../model.js';

/** One series' recent points, as GET /api/readings/history answers them (times in epoch ms, oldest first). */
export interface HistorySeries {
  readonly device: string;
  readonly domain: string;
  readonly metric: string;
  readonly unit: string | undefined;
  readonly ts: number[];
  readonly values: number[];
}

export interface HistoryOptions {
  /** How far back a series reaches. */
  readonly windowMs: number;
  /** One point per step at most: a later reading in the same step replaces the point (the newest value wins). */
  readonly stepMs: number;
  /** Series kept at most; readings of further series are counted, not kept. */
  readonly maxSeries: number;
}

/** A fixed ring of (time, value) points: its memory is allocated once, whatever the reading rate. */
class Ring {
  private readonly ts: Float64Array;
  private readonly values: Float64Array;
  private next = 0;
  private length = 0;

  constructor(
    capacity: number,
    readonly meta: Omit<HistorySeries, 'ts' | 'values'>,
  ) {
    this.ts = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
  }

  add(ts: number, value: number, stepMs: number): void {
    const capacity = this.ts.length;
    const last = (this.next - 1 + capacity) % capacity;
    if (this.length > 0 && Math.floor(this.ts[last]! / stepMs) === Math.floor(ts / stepMs)) {
      this.ts[last] = ts;
      this.values[last] = value;
      return;
    }
    this.ts[this.next] = ts;
    this.values[this.next] = value;
    this.next = (this.next + 1) % capacity;
    this.length = Math.min(this.length + 1, capacity);
  }

  /** The points at or after `since`, oldest first. */
  points(since: number): { ts: number[]; values: number[] } {
    const capacity = this.ts.length;
    const ts: number[] = [];
    const values: number[] = [];
    for (let i = 0; i < this.length; i++) {
      const at = (this.next - this.length + i + capacity) % capacity;
      if (this.ts[at]! < since) continue;
      ts.push(this.ts[at]!);
      values.push(this.values[at]!);
    }
    return { ts, values };
  }
}

/**
 * The last minutes of every numeric series (booleans as 0/1; strings have no chart), for the status page's charts to
 * start from when a page opens; the live events carry them on. Bounded twice: a fixed ring per series, and a fixed
 * number of series.
 */
export class ReadingHistory {
  private readonly series = new Map<string, Ring>();
  private readonly capacity: number;
  private seriesRefused = 0;

  constructor(
    private readonly opts: HistoryOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.capacity = Math.ceil(opts.windowMs / opts.stepMs);
  }

  /** Takes a reading in time order per series (the latest-readings view drops late ones before they get here). */
  add(reading: Reading, key: string): void {
    // A chart needs no more than a double's precision: 64-bit integers are drawn at their nearest double.
    const value = typeof reading.value === 'boolean' || typeof reading.value === 'bigint' ? Number(reading.value) : reading.value;
    if (typeof value !== 'number') return;
    let ring = this.series.get(key);
    if (!ring) {
      if (this.series.size >= this.opts.maxSeries) {
        this.seriesRefused++;
        return;
      }
      ring = new Ring(this.capacity, { device: reading.device, domain: reading.domain, metric: reading.metric, unit: reading.unit });
      this.series.set(key, ring);
    }
    ring.add(reading.ts, value, this.opts.stepMs);
  }

  select(filter: { domain?: string | undefined; device?: string | undefined }): HistorySeries[] {
    const since = this.now() - this.opts.windowMs;
    const out: HistorySeries[] = [];
    for (const ring of this.series.values()) {
      const { meta } = ring;
      if ((filter.domain === undefined || meta.domain === filter.domain) && (filter.device === undefined || meta.device === filter.device)) out.push({ ...meta, ...ring.points(since) });
    }
    return out;
  }

  stats(): { series: number; seriesRefused: number } {
    return { series: this.series.size, seriesRefused: this.seriesRefused };
  }
}
