import { escape } from '@influxdata/influxdb-client';
import type { Reading, ReadingValue } from '../model.js';
import { numberText, timestampText } from '../util/number-text.js';

/**
 * Readings to InfluxDB line protocol, in the schema of CONTRACT.md ("InfluxDB schema"): measurement = domain; tags
 * site, device and the device's own tags (sorted, as InfluxDB prefers); one field per metric; millisecond timestamps.
 * The escaped `measurement,tags field=` prefix of each series is built once and reused, so a reading costs one
 * concatenation.
 */
export class LineEncoder {
  private readonly prefixes = new Map<string, Map<string, string>>();
  /** Readings that line protocol cannot carry (NaN, ±Infinity): counted, not written. */
  unrepresentable = 0;
  /**
   * uint64 values above the int64 range: an InfluxDB integer field is a signed 64-bit integer (1.x has no unsigned
   * field, and 2.x's `u` would be another field type than the same point's smaller values). Counted, not written.
   */
  beyondInt64 = 0;

  constructor(private readonly site: string) {}

  /** The reading's line, or undefined when its value cannot be written (see `unrepresentable`, `beyondInt64`). */
  encode(reading: Reading): string | undefined {
    const value = encodeField(reading.value);
    if (value === undefined) {
      if (typeof reading.value === 'bigint') this.beyondInt64++;
      else this.unrepresentable++;
      return undefined;
    }
    return this.prefixOf(reading) + value + ' ' + timestampText(reading.ts);
  }

  private prefixOf(reading: Reading): string {
    let byMetric = this.prefixes.get(reading.device);
    if (!byMetric) this.prefixes.set(reading.device, (byMetric = new Map()));
    const key = reading.domain + '/' + reading.metric;
    let prefix = byMetric.get(key);
    if (prefix === undefined) {
      prefix = seriesPrefix(this.site, reading);
      byMetric.set(key, prefix);
    }
    return prefix;
  }
}

function seriesPrefix(site: string, reading: Reading): string {
  // The configured tags cannot override the two the schema defines.
  const tags: Record<string, string> = { ...reading.tags, site, device: reading.device };
  let line = escape.measurement(reading.domain);
  for (const key of Object.keys(tags).sort()) {
    const value = tags[key]!;
    // InfluxDB refuses an empty tag key or value; an empty tag is the same as no tag.
    if (key !== '' && value !== '') line += ',' + escape.tag(key) + '=' + escape.tag(value);
  }
  return line + ' ' + escape.tag(reading.metric) + '=';
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Numbers are always floats (no `i` suffix), so a series never changes field type when a value happens to be whole.
 * A bigint (a 64-bit integer point, whatever its value) is always an integer field, exact.
 */
function encodeField(value: ReadingValue): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? numberText(value) : undefined;
  if (typeof value === 'bigint') return value >= INT64_MIN && value <= INT64_MAX ? value.toString() + 'i' : undefined;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  // The buffer stores one line per record, so line breaks inside a string value become spaces.
  return escape.quoted(value.replace(/[\r\n]/g, ' '));
}
