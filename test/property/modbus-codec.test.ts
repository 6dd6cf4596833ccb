/** Register codec properties: round trips for every type and byte order, and decoding arbitrary registers. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePoint, encodePoint } from '../../drivers/modbus/codec.js';
import { modbusPointSchema, type ModbusPoint } from '../../drivers/modbus/config.js';
import { byteOrders, registerTypes } from '../../drivers/modbus/registers.js';
import { wordsOf } from '../support/reference-encoding.js';

const point = (type: (typeof registerTypes)[number], order: ModbusPoint['order'], extra: Record<string, unknown> = {}): ModbusPoint =>
  modbusPointSchema.parse({ name: 'p', address: 10, type, order, ...(type === 'string' ? { length: 4 } : {}), ...extra });

const blockOf = (words: readonly number[]) => Buffer.from(words.flatMap((w) => [w >> 8, w & 0xff]));
const order = fc.constantFrom(...byteOrders);

/** Values each type holds exactly, so encode → decode gives them back unchanged. */
const exact: Record<Exclude<(typeof registerTypes)[number], 'bool' | 'string' | 'int64' | 'uint64'>, fc.Arbitrary<number>> = {
  int16: fc.integer({ min: -0x8000, max: 0x7fff }),
  uint16: fc.integer({ min: 0, max: 0xffff }),
  int32: fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }),
  uint32: fc.integer({ min: 0, max: 0xffff_ffff }),
  float32: fc.float({ noNaN: true }),
  float64: fc.double({ noNaN: true }),
};

/** The whole range of each 64-bit type, with the edges of 2^53 (where doubles stop being exact) drawn often. */
const exact64 = {
  int64: fc.oneof(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.bigInt({ min: -(2n ** 53n) - 4n, max: -(2n ** 53n) + 4n }), fc.bigInt({ min: 2n ** 53n - 4n, max: 2n ** 53n + 4n })),
  uint64: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 2n ** 53n - 4n, max: 2n ** 53n + 4n }), fc.bigInt({ min: 2n ** 64n - 8n, max: 2n ** 64n - 1n })),
};

describe('register codec', () => {
  for (const [type, values] of Object.entries(exact64) as [keyof typeof exact64, fc.Arbitrary<bigint>][]) {
    it(`${type}: every value comes back exactly as a bigint, and the words match the reference encoding, in every order`, () => {
      fc.assert(
        fc.property(values, order, (value, o) => {
          const p = point(type, o);
          const words = encodePoint(p, value);
          expect(words).toEqual(wordsOf(type, value, o));
          expect(decodePoint(p, blockOf(words), 10)).toBe(value);
        }),
        { numRuns: 500 },
      );
    });
  }

  for (const [type, values] of Object.entries(exact) as [keyof typeof exact, fc.Arbitrary<number>][]) {
    it(`${type}: encode then decode gives the value back, and the words match the reference encoding, in every order`, () => {
      fc.assert(
        fc.property(values, order, (value, o) => {
          const p = point(type, o);
          const words = encodePoint(p, value);
          expect(words).toEqual(wordsOf(type, value, o));
          expect(Object.is(decodePoint(p, blockOf(words), 10), type === 'float32' ? decodeFloat32(value) : value)).toBe(true);
        }),
        { numRuns: 300 },
      );
    });
  }

  it('string: latin1 text up to its length comes back without trailing NULs and spaces, in every order', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.integer({ min: 0x21, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: 8 }), order, (text, o) => {
        const p = point('string', o);
        expect(decodePoint(p, blockOf(encodePoint(p, text)), 10)).toBe(text);
      }),
    );
  });

  it('bool with a bit: changes only that bit of the current word, in every order', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 0xffff }), fc.boolean(), order, (bit, current, on, o) => {
        const p = point('bool', o, { bit });
        const [word] = encodePoint(p, on, current);
        expect(decodePoint(p, blockOf([word!]), 10)).toBe(on);
        const other = point('bool', o, { bit: (bit + 1) % 16 });
        expect(decodePoint(other, blockOf([word!]), 10)).toBe(decodePoint(other, blockOf([current]), 10));
      }),
    );
  });

  it('decoding arbitrary register arrays never throws, except a RangeError for a block that misses the point', () => {
    fc.assert(
      fc.property(fc.constantFrom(...registerTypes), order, fc.uint8Array({ maxLength: 20 }), fc.integer({ min: 0, max: 12 }), (type, o, bytes, start) => {
        const p = point(type, o);
        try {
          const value = decodePoint(p, Buffer.from(bytes), start);
          expect(typeof value).toBe(type === 'int64' || type === 'uint64' ? 'bigint' : type === 'bool' ? 'boolean' : type === 'string' ? 'string' : 'number');
        } catch (error) {
          expect(error).toBeInstanceOf(RangeError);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

/** A float32 comes back as the shortest decimal of the same float32 (see shortestFloat32). */
function decodeFloat32(value: number): number {
  const f = Math.fround(value);
  if (!Number.isFinite(f) || f === 0) return f;
  for (let digits = 1; digits <= 9; digits++) if (Math.fround(Number(f.toPrecision(digits))) === f) return Number(f.toPrecision(digits));
  return f;
}
