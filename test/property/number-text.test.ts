import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { numberText, timestampText } from '../../gateway/util/number-text.js';

describe('numberText', () => {
  it('writes a finite number as String() does', () => {
    fc.assert(fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (value) => numberText(value) === String(value)));
    for (const value of [0, -0, 1e21, 1e-7, 123456789012345680000, Number.MAX_SAFE_INTEGER, Number.MIN_VALUE, -Number.MAX_VALUE, 1_800_000_000_000]) {
      expect(numberText(value)).toBe(String(value));
    }
  });

  it('writes timestamps as String() does, repeated ones too', () => {
    const timestamps = fc.array(fc.oneof(fc.constant(1_800_000_000_000), fc.integer({ min: 0, max: 2 ** 42 })), { maxLength: 50 });
    fc.assert(fc.property(timestamps, (list) => list.every((ts) => timestampText(ts) === String(ts))));
  });
});
