/** The line-protocol encoder on arbitrary tags and values: the line never breaks and reads back as written. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineEncoder } from '../../gateway/influx/line-protocol.js';
import type { Reading } from '../../gateway/model.js';
import { readLine } from '../support/line-protocol-reader.js';

const name = fc.stringMatching(/^[A-Za-z0-9_.-]{1,12}$/);
/** Text of any characters, weighted towards the ones line protocol escapes. */
const text = fc.string({ unit: fc.oneof(fc.constantFrom(',', '=', ' ', '\\', '"', '\n', '\r', '\t'), fc.string({ minLength: 1, maxLength: 1 }), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 })), maxLength: 12 });
/** Tag values as the config allows them: no backslash or control character (InfluxDB 1.x cannot store those as written). */
const tagValue = text.filter((value) => !/[\\\p{Cc}]/u.test(value));

const reading = fc.record({
  device: name,
  domain: name,
  metric: name,
  value: fc.oneof(fc.double(), fc.boolean(), text),
  ts: fc.integer({ min: 0, max: 4_102_444_800_000 }),
  quality: fc.constant('good' as const),
  tags: fc.dictionary(name, tagValue, { maxKeys: 4 }),
}) satisfies fc.Arbitrary<Reading>;

describe('LineEncoder on arbitrary readings', () => {
  it('writes one unbroken line that InfluxDB reads back with the same series, field and value', () => {
    fc.assert(
      fc.property(reading, (r) => {
        const line = new LineEncoder('district-7').encode(r);
        if (typeof r.value === 'number' && !Number.isFinite(r.value)) {
          expect(line, 'NaN and infinities are counted, not written').toBeUndefined();
          return;
        }
        expect(line).toBeDefined();
        expect(line!).not.toMatch(/[\r\n]/);
        const read = readLine(line!);
        expect(read).toMatchObject({ measurement: r.domain, field: r.metric, ts: r.ts });
        const tags = Object.fromEntries(Object.entries({ ...r.tags, site: 'district-7', device: r.device }).filter(([key, value]) => key !== '' && value !== ''));
        expect(read.tags).toEqual(tags);
        // Line breaks in a string become spaces (one record per line); -0 is written as 0.
        expect(read.value).toEqual(typeof r.value === 'string' ? r.value.replace(/[\r\n]/g, ' ') : typeof r.value === 'number' ? r.value + 0 : r.value);
      }),
      { numRuns: 2000 },
    );
  });
});
