/**
 * Validates what a field device publishes on `{prefix}/{site}/ingest/{domain}/{device}`: a JSON object whose keys are
 * metric names and whose values are bare values or `{value, unit?, ts?, quality?}`. Pure: the caller supplies the
 * clock and the limits. Each metric is judged on its own, so one bad metric never costs the device its other readings.
 */
import { isUtf8 } from 'node:buffer';
import { isReservedLevel, levelName, reservedProblem } from '../contract/names.js';
import type { Quality, Reading, ReadingValue } from '../model.js';

export interface IngestLimits {
  /** Metrics per payload. */
  readonly maxMetrics: number;
  /** Characters of a string value. */
  readonly maxStringLength: number;
  /** How far ahead of `now` a ts may be (device clock skew). */
  readonly maxFutureMs: number;
  /** How old a ts may be (a store-and-forward device may deliver late). */
  readonly maxAgeMs: number;
}

export interface IngestTarget {
  readonly device: string;
  readonly domain: string;
  readonly tags?: Readonly<Record<string, string>>;
}

export interface IngestRejection {
  /** Absent when the whole payload was rejected. */
  readonly metric?: string;
  readonly reason: string;
}

export interface IngestResult {
  readonly readings: Reading[];
  readonly rejections: IngestRejection[];
}

const maxMetricNameLength = 128;
const maxUnitLength = 32;
// Epoch milliseconds below this are before 1973, while epoch seconds stay below it until the year 5138.
const secondsBelow = 1e11;
const objectForm = '{value, unit?, ts?, quality?}';

type Draft = { -readonly [K in keyof Reading]: Reading[K] };

export function parseIngest(payload: Buffer, target: IngestTarget, now: number, limits: IngestLimits): IngestResult {
  const readings: Reading[] = [];
  const rejections: IngestRejection[] = [];
  const whole = (reason: string): IngestResult => ({ readings: [], rejections: [{ reason }] });

  // Buffer#toString would silently turn bad bytes into U+FFFD and store them as data.
  if (!isUtf8(payload)) return whole('payload is not JSON: it is not valid UTF-8 text');
  let parsed: unknown;
  try {
    // Some embedded JSON libraries emit a UTF-8 byte order mark, which JSON.parse refuses.
    parsed = JSON.parse(payload.toString('utf8', hasBom(payload) ? 3 : 0));
  } catch (error) {
    return whole(`payload is not JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return whole(`payload must be a JSON object of metric: value (got ${describe(parsed)})`);
  }

  const metrics = parsed as Record<string, unknown>;
  let count = 0;
  for (const name in metrics) {
    // Past the limit, only count, so the rejection can say how many there were.
    if (++count > limits.maxMetrics) continue;
    const outcome = judgeMetric(name, metrics[name], target, now, limits);
    if (typeof outcome === 'string') rejections.push({ metric: name, reason: `${quote(name)}: ${outcome}` });
    else readings.push(outcome);
  }
  if (count === 0) return whole('no metrics: the payload is an empty JSON object');
  if (count > limits.maxMetrics) {
    return whole(`payload has ${count} metrics, more than the limit of ${limits.maxMetrics} per message: split it`);
  }
  return { readings, rejections };
}

/** The reading for one metric, or why it was rejected. */
function judgeMetric(name: string, raw: unknown, target: IngestTarget, now: number, limits: IngestLimits): Reading | string {
  // Metric names become MQTT topic levels and Influx field names.
  if (name.length > maxMetricNameLength || !levelName.test(name)) {
    return `metric name must be 1 to ${maxMetricNameLength} letters, digits, "_", "-" or "." (it becomes an MQTT topic level and an Influx field name)`;
  }
  if (isReservedLevel(name)) return `metric ${reservedProblem(name)}`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    const problem = judgeValue(raw, limits);
    if (problem !== undefined) return problem;
    return makeReading(target, name, raw as ReadingValue, undefined, now, 'good');
  }

  let value: unknown;
  let unit: unknown;
  let ts: unknown;
  let quality: unknown;
  let unknownKeys: string[] | undefined;
  const fields = raw as Record<string, unknown>;
  for (const key in fields) {
    switch (key) {
      case 'value': value = fields[key]; break;
      case 'unit': unit = fields[key]; break;
      case 'ts': ts = fields[key]; break;
      case 'quality': quality = fields[key]; break;
      default: (unknownKeys ??= []).push(key);
    }
  }
  if (unknownKeys !== undefined) {
    const plural = unknownKeys.length === 1 ? 'key' : 'keys';
    return `unknown ${plural} ${unknownKeys.map(quote).join(', ')} (allowed: value, unit, ts, quality)`;
  }
  if (value === undefined) return `the object has no "value" (expected ${objectForm})`;
  const problem = judgeValue(value, limits);
  if (problem !== undefined) return problem;
  if (unit !== undefined && (typeof unit !== 'string' || unit.length > maxUnitLength)) {
    return `unit must be a string of at most ${maxUnitLength} characters (got ${describe(unit)})`;
  }
  if (quality !== undefined && quality !== 'good' && quality !== 'uncertain' && quality !== 'bad') {
    return `quality must be "good", "uncertain" or "bad" (got ${describe(quality)})`;
  }
  let at = now;
  if (ts !== undefined) {
    if (typeof ts !== 'number' || !Number.isFinite(ts)) return `ts must be epoch milliseconds as a number (got ${describe(ts)})`;
    at = Math.round(ts);
    if (at < secondsBelow) return `ts ${at} looks like seconds: send epoch milliseconds`;
    if (at > now + limits.maxFutureMs) {
      return `ts is ${formatSpan(at - now)} in the future, more than the ${formatSpan(limits.maxFutureMs)} of clock skew allowed: check the device clock`;
    }
    if (at < now - limits.maxAgeMs) return `ts is ${formatSpan(now - at)} old, older than the limit of ${formatSpan(limits.maxAgeMs)}`;
  }
  return makeReading(target, name, value as ReadingValue, unit as string | undefined, at, (quality as Quality | undefined) ?? 'good');
}

/** Why `value` is not a reading value, or undefined when it is one. */
function judgeValue(value: unknown, limits: IngestLimits): string | undefined {
  switch (typeof value) {
    case 'boolean':
      return undefined;
    case 'number':
      // JSON has no Infinity, but JSON.parse turns a number beyond ±1.8e308 (e.g. 1e400) into one.
      return Number.isFinite(value) ? undefined : `value must be a finite number (got ${describe(value)}, beyond ±1.8e308)`;
    case 'string':
      return value.length <= limits.maxStringLength
        ? undefined
        : `string value is ${value.length} characters long, more than the limit of ${limits.maxStringLength}`;
    default:
      return `value must be a finite number, a boolean or a string (got ${describe(value)})`;
  }
}

function makeReading(target: IngestTarget, metric: string, value: ReadingValue, unit: string | undefined, ts: number, quality: Quality): Reading {
  // Two literals rather than `unit: undefined`: readings are encoded to JSON and compared as-is elsewhere.
  const reading: Draft =
    unit === undefined
      ? { device: target.device, domain: target.domain, metric, value, ts, quality }
      : { device: target.device, domain: target.domain, metric, value, unit, ts, quality };
  if (target.tags !== undefined) reading.tags = target.tags;
  return reading;
}

function hasBom(bytes: Buffer): boolean {
  return bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
}

/** A JSON-quoted name, cut short so a huge key cannot flood the log. */
function quote(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return quote(value);
  return String(value);
}

/** "850 ms", "42 s", "6.5 min", "3.2 h", "31 d": enough precision for an operator to see what is off. */
function formatSpan(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${round1(ms / 1000)} s`;
  if (ms < 3_600_000) return `${round1(ms / 60_000)} min`;
  if (ms < 86_400_000) return `${round1(ms / 3_600_000)} h`;
  return `${round1(ms / 86_400_000)} d`;
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
