import { describe, expect, it } from 'vitest';
import { reservedProblem } from '../../gateway/contract/names.js';
import { parseIngest, type IngestLimits, type IngestTarget } from '../../gateway/ingest/payload.js';

const now = 1_795_405_973_402;
const limits: IngestLimits = { maxMetrics: 256, maxStringLength: 1024, maxFutureMs: 5 * 60_000, maxAgeMs: 30 * 86_400_000 };
const target: IngestTarget = { device: 'pump-station-3', domain: 'water' };
const device = { device: 'pump-station-3', domain: 'water' };

const parse = (payload: unknown, over: Partial<IngestLimits> = {}) =>
  parseIngest(Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)), target, now, { ...limits, ...over });

/** The one rejection of a payload with a single metric. */
function reasonFor(value: unknown, over: Partial<IngestLimits> = {}): string | undefined {
  const result = parse({ level: value }, over);
  expect(result.readings).toEqual([]);
  expect(result.rejections).toHaveLength(1);
  expect(result.rejections[0]?.metric).toBe('level');
  return result.rejections[0]?.reason;
}

describe('parseIngest readings', () => {
  it('turns bare values and objects into exact readings, in payload order', () => {
    const result = parse('{"flow":12.3,"level":{"value":1.2,"unit":"m","ts":1795405973000,"quality":"uncertain"},"pump_running":true,"mode":"auto"}');
    expect(result.rejections).toEqual([]);
    expect(result.readings).toStrictEqual([
      { ...device, metric: 'flow', value: 12.3, ts: now, quality: 'good' },
      { ...device, metric: 'level', value: 1.2, unit: 'm', ts: 1_795_405_973_000, quality: 'uncertain' },
      { ...device, metric: 'pump_running', value: true, ts: now, quality: 'good' },
      { ...device, metric: 'mode', value: 'auto', ts: now, quality: 'good' },
    ]);
  });

  it('adds no unit or tags keys that were not given, so JSON encoding stays clean', () => {
    const [reading] = parse({ flow: { value: 1 } }).readings;
    expect(Object.keys(reading!)).toEqual(['device', 'domain', 'metric', 'value', 'ts', 'quality']);
    expect(JSON.stringify(reading)).toBe(`{"device":"pump-station-3","domain":"water","metric":"flow","value":1,"ts":${now},"quality":"good"}`);
  });

  it('adds the target tags to every reading', () => {
    const tags = { zone: 'north' };
    const result = parseIngest(Buffer.from('{"a":1,"b":{"value":"x","unit":"-"}}'), { ...target, tags }, now, limits);
    expect(result.readings).toStrictEqual([
      { ...device, metric: 'a', value: 1, ts: now, quality: 'good', tags },
      { ...device, metric: 'b', value: 'x', unit: '-', ts: now, quality: 'good', tags },
    ]);
  });

  it('defaults ts to now and quality to good, and rounds a fractional ts to whole milliseconds', () => {
    expect(parse({ a: { value: 0 } }).readings[0]).toMatchObject({ ts: now, quality: 'good' });
    expect(parse({ a: { value: 0, ts: now - 1000.4 } }).readings[0]?.ts).toBe(now - 1000);
    expect(parse({ a: { value: 0, ts: now - 1000.5 } }).readings[0]?.ts).toBe(now - 1000);
    expect(parse({ a: { value: 0, quality: 'bad' } }).readings[0]?.quality).toBe('bad');
  });

  it('accepts ts exactly at the skew and age limits', () => {
    expect(parse({ a: { value: 0, ts: now + limits.maxFutureMs } }).readings[0]?.ts).toBe(now + limits.maxFutureMs);
    expect(parse({ a: { value: 0, ts: now - limits.maxAgeMs } }).readings[0]?.ts).toBe(now - limits.maxAgeMs);
  });

  it('accepts a string of exactly the limit, empty strings, zero, negatives and false', () => {
    const result = parse({ s: 'x'.repeat(1024), e: '', z: 0, n: -273.15, f: false });
    expect(result.rejections).toEqual([]);
    expect(result.readings.map((r) => r.value)).toEqual(['x'.repeat(1024), '', 0, -273.15, false]);
  });

  it('accepts metric names of letters, digits, "_", "-" and ".", up to 128 characters', () => {
    const long = 'm'.repeat(128);
    const result = parse({ 'Flow_1.avg-5m': 1, [long]: 2 });
    expect(result.readings.map((r) => r.metric)).toEqual(['Flow_1.avg-5m', long]);
  });

  it('tolerates a leading UTF-8 byte order mark, which some embedded JSON libraries emit', () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    const result = parseIngest(Buffer.concat([bom, Buffer.from('{"flow":1}')]), target, now, limits);
    expect(result).toEqual({ readings: [{ ...device, metric: 'flow', value: 1, ts: now, quality: 'good' }], rejections: [] });
  });

  it('keeps multi-byte UTF-8 text intact', () => {
    expect(parse('{"note":"Überlauf ≥ 3 m 🌊"}').readings[0]?.value).toBe('Überlauf ≥ 3 m 🌊');
  });
});

describe('parseIngest rejections of the whole payload', () => {
  const whole = (payload: string | Buffer) => {
    const result = parseIngest(typeof payload === 'string' ? Buffer.from(payload) : payload, target, now, limits);
    expect(result.readings).toEqual([]);
    expect(result.rejections).toHaveLength(1);
    expect(result.rejections[0]).not.toHaveProperty('metric');
    return result.rejections[0]?.reason;
  };

  it('names the parser problem of a payload that is not JSON', () => {
    expect(whole('{"flow": 12.3,')).toMatch(/^payload is not JSON: .+/);
    expect(whole('flow=12.3')).toMatch(/^payload is not JSON: .+/);
    expect(whole('')).toMatch(/^payload is not JSON: .+/);
  });

  it('refuses bytes that are not UTF-8 rather than storing replacement characters', () => {
    expect(whole(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]))).toBe('payload is not JSON: it is not valid UTF-8 text');
    // Latin-1 "é" on its own is not UTF-8 either.
    expect(whole(Buffer.from('{"note":"caf\xe9"}', 'latin1'))).toBe('payload is not JSON: it is not valid UTF-8 text');
  });

  it('refuses JSON that is not an object of metrics', () => {
    expect(whole('[1,2]')).toBe('payload must be a JSON object of metric: value (got an array)');
    expect(whole('12.3')).toBe('payload must be a JSON object of metric: value (got 12.3)');
    expect(whole('null')).toBe('payload must be a JSON object of metric: value (got null)');
    expect(whole('"flow"')).toBe('payload must be a JSON object of metric: value (got "flow")');
  });

  it('refuses an empty object', () => {
    expect(whole('{}')).toBe('no metrics: the payload is an empty JSON object');
  });

  it('refuses more metrics than the limit, naming the count and the limit', () => {
    const payload = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`m${i}`, i]));
    expect(parse(payload(256)).readings).toHaveLength(256);
    const result = parse(payload(300));
    expect(result).toEqual({ readings: [], rejections: [{ reason: 'payload has 300 metrics, more than the limit of 256 per message: split it' }] });
  });
});

describe('parseIngest rejections of one metric', () => {
  it('judges each metric on its own: valid siblings of a bad metric still become readings', () => {
    const result = parse('{"flow":12.3,"level":null,"bad name":1,"pressure":{"value":2.1,"unit":"bar","ts":1795405973},"pump_running":true}');
    expect(result.readings).toStrictEqual([
      { ...device, metric: 'flow', value: 12.3, ts: now, quality: 'good' },
      { ...device, metric: 'pump_running', value: true, ts: now, quality: 'good' },
    ]);
    expect(result.rejections).toEqual([
      { metric: 'level', reason: '"level": value must be a finite number, a boolean or a string (got null)' },
      { metric: 'bad name', reason: '"bad name": metric name must be 1 to 128 letters, digits, "_", "-" or "." (it becomes an MQTT topic level and an Influx field name)' },
      { metric: 'pressure', reason: '"pressure": ts 1795405973 looks like seconds: send epoch milliseconds' },
    ]);
  });

  it('refuses values that are not a finite number, a boolean or a string', () => {
    expect(reasonFor(null)).toBe('"level": value must be a finite number, a boolean or a string (got null)');
    expect(reasonFor([1, 2])).toBe('"level": value must be a finite number, a boolean or a string (got an array)');
    expect(reasonFor({ value: { nested: 1 } })).toBe('"level": value must be a finite number, a boolean or a string (got an object)');
    expect(reasonFor({ value: null })).toBe('"level": value must be a finite number, a boolean or a string (got null)');
  });

  it('refuses numbers that overflow to Infinity', () => {
    const result = parse('{"level":1e400,"flow":-1e400,"ok":1.7e308}');
    expect(result.readings.map((r) => r.metric)).toEqual(['ok']);
    expect(result.rejections.map((r) => r.reason)).toEqual([
      '"level": value must be a finite number (got Infinity, beyond ±1.8e308)',
      '"flow": value must be a finite number (got -Infinity, beyond ±1.8e308)',
    ]);
    expect(parse('{"level":{"value":1e999}}').rejections[0]?.reason).toBe('"level": value must be a finite number (got Infinity, beyond ±1.8e308)');
  });

  it('refuses a string longer than the limit, even a 200 KB one, without quoting it', () => {
    const reason = reasonFor('x'.repeat(200 * 1024));
    expect(reason).toBe('"level": string value is 204800 characters long, more than the limit of 1024');
    expect(reasonFor('x'.repeat(1025))).toBe('"level": string value is 1025 characters long, more than the limit of 1024');
    expect(reasonFor('abc', { maxStringLength: 2 })).toBe('"level": string value is 3 characters long, more than the limit of 2');
  });

  it('refuses bad metric names, quoting a long one only in part', () => {
    for (const name of ['', 'a/b', 'flow#', 'a+b', 'with space', 'tür', 'm'.repeat(129)]) {
      const result = parse({ [name]: 1 });
      expect(result.readings).toEqual([]);
      expect(result.rejections[0]?.metric).toBe(name);
      expect(result.rejections[0]?.reason).toMatch(/: metric name must be 1 to 128 letters, digits, "_", "-" or "\."/);
    }
    expect(parse({ ['m'.repeat(129)]: 1 }).rejections[0]?.reason).toMatch(/^"m{64}…": metric name/);
  });

  it('refuses a metric named like a reserved first level, keeping the others', () => {
    const result = parse({ status: 1, command: 2, level: 3 });
    expect(result.readings.map((r) => r.metric)).toEqual(['level']);
    expect(result.rejections).toEqual([
      { metric: 'status', reason: `"status": metric ${reservedProblem('status')}` },
      { metric: 'command', reason: `"command": metric ${reservedProblem('command')}` },
    ]);
  });

  it('refuses unknown keys in the object form, naming them and the allowed ones', () => {
    expect(reasonFor({ value: 1, units: 'm' })).toBe('"level": unknown key "units" (allowed: value, unit, ts, quality)');
    expect(reasonFor({ value: 1, timestamp: 1, q: 'good' })).toBe('"level": unknown keys "timestamp", "q" (allowed: value, unit, ts, quality)');
    expect(parse('{"level":{"value":1,"__proto__":{"polluted":true}}}').rejections[0]?.reason).toBe(
      '"level": unknown key "__proto__" (allowed: value, unit, ts, quality)',
    );
  });

  it('refuses an object without a value', () => {
    expect(reasonFor({ unit: 'm' })).toBe('"level": the object has no "value" (expected {value, unit?, ts?, quality?})');
    expect(reasonFor({})).toBe('"level": the object has no "value" (expected {value, unit?, ts?, quality?})');
  });

  it('refuses a unit that is not a string of at most 32 characters', () => {
    expect(parse({ a: { value: 1, unit: 'u'.repeat(32) } }).readings[0]?.unit).toBe('u'.repeat(32));
    expect(reasonFor({ value: 1, unit: 'u'.repeat(33) })).toBe(`"level": unit must be a string of at most 32 characters (got "${'u'.repeat(33)}")`);
    expect(reasonFor({ value: 1, unit: 3 })).toBe('"level": unit must be a string of at most 32 characters (got 3)');
    expect(reasonFor({ value: 1, unit: null })).toBe('"level": unit must be a string of at most 32 characters (got null)');
  });

  it('refuses a quality other than good, uncertain or bad', () => {
    expect(reasonFor({ value: 1, quality: 'ok' })).toBe('"level": quality must be "good", "uncertain" or "bad" (got "ok")');
    expect(reasonFor({ value: 1, quality: 'GOOD' })).toBe('"level": quality must be "good", "uncertain" or "bad" (got "GOOD")');
    expect(reasonFor({ value: 1, quality: 192 })).toBe('"level": quality must be "good", "uncertain" or "bad" (got 192)');
  });

  it('refuses a ts that is not a number', () => {
    expect(reasonFor({ value: 1, ts: '2026-11-24T12:00:00Z' })).toBe('"level": ts must be epoch milliseconds as a number (got "2026-11-24T12:00:00Z")');
    expect(reasonFor({ value: 1, ts: null })).toBe('"level": ts must be epoch milliseconds as a number (got null)');
    expect(parse('{"level":{"value":1,"ts":1e400}}').rejections[0]?.reason).toBe('"level": ts must be epoch milliseconds as a number (got Infinity)');
  });

  it('refuses a ts in seconds', () => {
    expect(reasonFor({ value: 1, ts: 1_795_405_973 })).toBe('"level": ts 1795405973 looks like seconds: send epoch milliseconds');
    expect(reasonFor({ value: 1, ts: 1_795_405_973.402 })).toBe('"level": ts 1795405973 looks like seconds: send epoch milliseconds');
  });

  it('refuses a ts further ahead than the clock skew allowed, saying by how much', () => {
    expect(reasonFor({ value: 1, ts: now + limits.maxFutureMs + 1 })).toMatch(/^"level": ts is .+ in the future/);
    expect(reasonFor({ value: 1, ts: now + 6.5 * 60_000 })).toBe(
      '"level": ts is 6.5 min in the future, more than the 5 min of clock skew allowed: check the device clock',
    );
    expect(reasonFor({ value: 1, ts: now + 2 * 3_600_000 })).toBe(
      '"level": ts is 2 h in the future, more than the 5 min of clock skew allowed: check the device clock',
    );
    expect(reasonFor({ value: 1, ts: now + 1500 }, { maxFutureMs: 0 })).toBe(
      '"level": ts is 1.5 s in the future, more than the 0 ms of clock skew allowed: check the device clock',
    );
  });

  it('refuses a ts older than the age limit, saying how old', () => {
    expect(reasonFor({ value: 1, ts: now - limits.maxAgeMs - 1 })).toMatch(/^"level": ts is .+ old, older than the limit of 30 d$/);
    expect(reasonFor({ value: 1, ts: now - 400 * 86_400_000 })).toBe('"level": ts is 400 d old, older than the limit of 30 d');
  });
});
