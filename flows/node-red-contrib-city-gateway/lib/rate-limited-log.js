'use strict';
/**
 * Warnings that repeat (a gateway that stays down, a handler failing on every message) are logged once per key and
 * interval, with how many were held back: the Node-RED log stays readable after a night of outage.
 */
const DEFAULT_INTERVAL_MS = 60_000;

class RateLimitedLog {
  /** @param {{warn(text: string): void, log?(text: string): void}} sink */
  constructor(sink, intervalMs = DEFAULT_INTERVAL_MS) {
    this.sink = sink;
    this.intervalMs = intervalMs;
    /** key → {last: ms, held: count} */
    this.keys = new Map();
  }

  warn(key, text) {
    const now = Date.now();
    const entry = this.keys.get(key);
    if (entry !== undefined && now - entry.last < this.intervalMs) {
      entry.held++;
      return;
    }
    const held = entry?.held ?? 0;
    this.keys.set(key, { last: now, held: 0 });
    this.sink.warn(held > 0 ? `${text} (${held} more like it in the last ${Math.round((now - entry.last) / 1000)} s)` : text);
  }

  /** The problem under `key` is over: say so once if it had been reported, and log it afresh if it comes back. */
  recovered(key, text) {
    if (!this.keys.delete(key)) return;
    (this.sink.log ?? this.sink.warn).call(this.sink, text);
  }
}

module.exports = { RateLimitedLog };
