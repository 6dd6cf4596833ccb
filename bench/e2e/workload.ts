/**
 * The load both systems get: single-metric readings from 100 devices, in round robin, on the contract's ingest topic,
 * with a reading now and then that trips the alert rule `flow-high` (and the next one of that device resolves it).
 * The same five threshold rules run in the gateway (YAML) and in the Node-RED flow (a function node).
 */
import { Topics } from '../../gateway/contract/topics.js';

export const PREFIX = 'city';
export const SITE = 'bench';
export const topics = new Topics(PREFIX, SITE);
export const DOMAIN = 'load';
export const METRIC = 'flow';
export const DEVICES = 100;
/** A reading on this domain proves a system's whole path is up before the measured load starts. */
export const PROBE_DOMAIN = 'probe';
/**
 * The alert sentinel: a device of its own, on a connection of its own, that trips and clears TRIP_RULE in turn while
 * the load runs. Its reading→alert is the system's (how long a device's alarm waits behind the load), where the
 * load's own tripping readings also wait behind their connection's queue (its window, its socket buffers).
 */
export const SENTINEL_DOMAIN = 'sentinel';
export const SENTINEL_DEVICE = 'sentinel-1';

/** One reading in this many trips the rule (each on another device, so the alerts spread over the devices). */
const TRIP_EVERY = 500;
export const TRIP_RULE = 'flow-high';

/** Rules as both systems apply them: the value crosses `threshold` to fire, and back past `clear` to resolve. */
export interface ThresholdRule {
  readonly name: string;
  readonly above?: number;
  readonly below?: number;
  readonly clear: number;
  readonly severity: 'warning' | 'critical';
}

export const rules: readonly ThresholdRule[] = [
  { name: TRIP_RULE, above: 100, clear: 90, severity: 'warning' },
  { name: 'flow-low', below: -100, clear: -90, severity: 'warning' },
  { name: 'flow-very-high', above: 1000, clear: 900, severity: 'critical' },
  { name: 'flow-very-low', below: -1000, clear: -900, severity: 'critical' },
  { name: 'flow-overrange', above: 5000, clear: 4000, severity: 'critical' },
];

/**
 * The normalised readings of the load's domains, as a dashboard of them subscribes. Not the contract's catch-all
 * readings filter `{root}/+/+/+`: it also matches the raw ingest topics (`{root}/ingest/{domain}/{device}`), so each
 * system would route every raw publish of the load to this subscriber too, which no output of the run asks for.
 */
export const readingsFilters = [topics.withSuffix(`${DOMAIN}/+/+`), topics.withSuffix(`${PROBE_DOMAIN}/+/+`)];

/** The names of a domain's load devices: `load-000` … `load-099` (the warm-up's: `probe-000` …). */
const deviceNames = new Map<string, readonly string[]>();
function devicesOf(domain: string): readonly string[] {
  let names = deviceNames.get(domain);
  if (!names) deviceNames.set(domain, (names = Array.from({ length: DEVICES }, (_, i) => `${domain}-${String(i).padStart(3, '0')}`)));
  return names;
}

/** The warm-up's devices, as InfluxQL matches their tag (the probe's own device is `probe-1`). */
export const WARMUP_DEVICE_PATTERN = `/^${PROBE_DOMAIN}-[0-9]{3}$/`;

/** The reading with sequence number `seq` of a run on `domain`. */
export interface LoadReading {
  readonly device: string;
  readonly value: number;
  readonly ts: number;
  /** Whether it trips TRIP_RULE. */
  readonly trips: boolean;
}

/**
 * Timestamps start an hour back and step 1 ms per reading of a device: each point is its own in InfluxDB (one per
 * series and timestamp), and no rate of any length runs them past the ingest's `max_future`.
 */
export function readingAt(seq: number, startTs: number, domain = DOMAIN): LoadReading {
  const index = seq % DEVICES;
  const block = Math.floor(seq / TRIP_EVERY);
  const trips = seq % TRIP_EVERY === block % DEVICES;
  // Normal values stay in 0..80, clear of every rule; a tripping value is unique in the run, to match its alert.
  const value = trips ? 150 + block / 1000 : Math.round((40 + 40 * Math.sin(seq / 997 + index)) * 100) / 100;
  return { device: devicesOf(domain)[index]!, value, ts: startTs + Math.floor(seq / DEVICES), trips };
}

export function runStartTs(): number {
  return Date.now() - 3_600_000;
}

/** The sentinel's `k`th reading (k from 0): even ones trip TRIP_RULE with a value unique in the run, odd ones clear it. */
export function sentinelReading(k: number): LoadReading {
  const trips = k % 2 === 0;
  return { device: SENTINEL_DEVICE, value: trips ? 200 + k / 1000 : 50, ts: Date.now(), trips };
}

/** Names a tripping reading and the alert it raised alike: device and value. */
export function tripKey(device: string, value: unknown): string {
  return `${device}:${String(value)}`;
}

export function ingestPayload(reading: LoadReading): string {
  return `{"${METRIC}":{"value":${reading.value},"ts":${reading.ts}}}`;
}
