/** contract/json.ts: JSON with 64-bit integers as bare numbers with every digit. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exactJson } from '../../gateway/contract/json.js';

describe('exactJson', () => {
  it('writes bigints as bare numbers, anywhere in the value', () => {
    expect(exactJson({ a: -9007199254740993n, b: [18446744073709551615n, 1.5, 'x'], c: undefined })).toBe('{"a":-9007199254740993,"b":[18446744073709551615,1.5,"x"]}');
  });

  it('is JSON.stringify for values without bigints, strings that look like its marks included', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(exactJson(value)).toBe(JSON.stringify(value));
      }),
    );
    const tricky = { s: '\u0000123', t: '"\\u0000 1"', n: 5n };
    expect(exactJson(tricky)).toBe('{"s":"\\u0000123","t":"\\"\\\\u0000 1\\"","n":5}');
  });

  it('keeps the digits of every bigint, as a big-number-aware reader would parse them back', () => {
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n })), (values) => {
        const text = exactJson({ values });
        expect(text).toBe(`{"values":[${values.join(',')}]}`);
      }),
    );
  });
});
