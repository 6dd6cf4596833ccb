import type { Reading } from '../model.js';
import type { Sink } from '../pipeline/sink.js';

/**
 * The latest reading of every series (device and metric), for /api/readings/latest and the live events. Bounded:
 * series beyond `maxSeries` are not kept (counted), so a device inventing metric names cannot grow it without end.
 * Watchers hear every reading kept, in the tick it arrives; they must be cheap (the live events only note it).
 */
export class LatestReadings implements Sink {
  readonly name = 'http-latest';
  private readonly latest = new Map<string, Reading>();
  private readonly watchers = new Set<(reading: Reading, key: string) => void>();
  private seriesRefused = 0;

  constructor(private readonly maxSeries: number) {}

  write(readings: readonly Reading[]): void {
    for (const reading of readings) {
      const key = seriesKey(reading);
      if (!this.latest.has(key) && this.latest.size >= this.maxSeries) {
        this.seriesRefused++;
        continue;
      }
      const kept = this.latest.get(key);
      // Late readings (a device's stored backlog after an outage) do not replace a newer value.
      if (kept && kept.ts > reading.ts) continue;
      this.latest.set(key, reading);
      for (const watch of this.watchers) watch(reading, key);
    }
  }

  /** Calls `watch` with every reading kept; returns a function that ends the watch. */
  watch(watch: (reading: Reading, key: string) => void): () => void {
    this.watchers.add(watch);
    return () => this.watchers.delete(watch);
  }

  select(filter: { domain?: string | undefined; device?: string | undefined }): Reading[] {
    const out: Reading[] = [];
    for (const reading of this.latest.values()) {
      if ((filter.domain === undefined || reading.domain === filter.domain) && (filter.device === undefined || reading.device === filter.device)) out.push(reading);
    }
    return out;
  }

  /** When each device last sent a reading (epoch ms). */
  lastReadingTimes(): Map<string, number> {
    const times = new Map<string, number>();
    for (const reading of this.latest.values()) times.set(reading.device, Math.max(times.get(reading.device) ?? 0, reading.ts));
    return times;
  }

  stats(): { series: number; seriesRefused: number } {
    return { series: this.latest.size, seriesRefused: this.seriesRefused };
  }
}

function seriesKey(reading: Reading): string {
  return `${reading.device}\u0000${reading.metric}`;
}
