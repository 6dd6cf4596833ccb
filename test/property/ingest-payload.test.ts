/** Ingest payload validation on arbitrary bytes and JSON: never throws; what it accepts meets the documented rules. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseIngest, type IngestLimits } from '../../gateway/ingest/payload.js';

const now = 1_795_405_973_402;
const limits: IngestLimits = { maxMetrics: 8, maxStringLength: 16, maxFutureMs: 300_000, maxAgeMs: 30 * 86_400_000 };
const target = { device: 'probe-1', domain: 'water', tags: { zone: 'north' } };

const metricValue = fc.oneof(
  fc.jsonValue(),
  fc.double(),
  fc.record({ value: fc.jsonValue(), unit: fc.jsonValue(), ts: fc.oneof(fc.double(), fc.integer({ min: now - 40 * 86_400_000, max: now + 600_000 }), fc.jsonValue()), quality: fc.oneof(fc.constantFrom('good', 'uncertain', 'bad'), fc.jsonValue()) }, { requiredKeys: [] }),
);
const name = fc.oneof(fc.string(), fc.stringMatching(/^[A-Za-z0-9_.-]{1,8}$/), fc.constantFrom('__proto__', 'constructor', 'x'.repeat(200)));
const payload = fc.oneof(
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
  fc.jsonValue().map((value) => Buffer.from(JSON.stringify(value) ?? 'null')),
  fc.dictionary(name, metricValue, { maxKeys: 10 }).map((doc) => Buffer.from(JSON.stringify(doc))),
  fc.string().map((text) => Buffer.from(`\uFEFF{"level": ${text}}`)),
);

describe('parseIngest on arbitrary payloads', () => {
  it('never throws; every metric is either a reading or a rejection; readings meet the documented invariants', () => {
    fc.assert(
      fc.property(payload, (bytes) => {
        const { readings, rejections } = parseIngest(bytes, target, now, limits);
        expect(readings.length).toBeLessThanOrEqual(limits.maxMetrics);
        if (readings.length === 0) expect(rejections.length).toBeGreaterThan(0);
        for (const reading of readings) {
          expect(reading).toMatchObject({ device: 'probe-1', domain: 'water', tags: { zone: 'north' } });
          expect(reading.metric).toMatch(/^[A-Za-z0-9_.-]{1,128}$/);
          if (typeof reading.value === 'number') expect(Number.isFinite(reading.value)).toBe(true);
          else if (typeof reading.value === 'string') expect(reading.value.length).toBeLessThanOrEqual(limits.maxStringLength);
          else expect(typeof reading.value).toBe('boolean');
          expect(reading.unit === undefined || (typeof reading.unit === 'string' && reading.unit.length <= 32)).toBe(true);
          expect(['good', 'uncertain', 'bad']).toContain(reading.quality);
          expect(Number.isInteger(reading.ts)).toBe(true);
          expect(reading.ts).toBeGreaterThanOrEqual(now - limits.maxAgeMs);
          expect(reading.ts).toBeLessThanOrEqual(now + limits.maxFutureMs);
        }
        for (const rejection of rejections) expect(rejection.reason.length).toBeGreaterThan(0);
      }),
      { numRuns: 2000 },
    );
  });
});
