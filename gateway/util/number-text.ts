/**
 * A finite number's decimal text, the same as `String(value)`, but not kept in V8's number-string cache. `String(n)`,
 * `${n}` and `'' + n` put each new number's text in that cache, and the texts it holds outlive the young generation:
 * with every reading's value and timestamp new, the texts the cache let go became garbage of the old generation, which
 * only a full collection (5–10 ms of pause) frees. Encoding 600,000 readings took 2–5 full collections that way, none
 * with JSON.stringify, which writes the same digits without the cache (test/unit/old-generation.test.ts).
 */
export function numberText(value: number): string {
  return JSON.stringify(value);
}

let lastTimestamp = Number.NaN;
let lastTimestampText = '';

/**
 * numberText for a reading's timestamp (epoch ms). Readings in a row often share their millisecond — the metrics of one
 * poll, a batch a device sends at once — so the text of the last one is kept.
 */
export function timestampText(ts: number): string {
  if (ts !== lastTimestamp) {
    lastTimestamp = ts;
    lastTimestampText = numberText(ts);
  }
  return lastTimestampText;
}
