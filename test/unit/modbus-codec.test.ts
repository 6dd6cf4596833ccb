import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../tools/simulator/random.js';
import { decodeBit, decodePoint, encodePoint, shortestFloat32 } from '../../drivers/modbus/codec.js';
import { registerSpan } from '../../drivers/modbus/registers.js';
import { modbusPointSchema, type ModbusPoint } from '../../drivers/modbus/config.js';
import { byteOrders } from '../../drivers/modbus/registers.js';
import { wordsOf } from '../support/reference-encoding.js';

type Order = ModbusPoint['order'];
type Layouts = Record<Order, number[]>;

function point(fields: Record<string, unknown>): ModbusPoint {
  return modbusPointSchema.parse({ name: 'p', address: 0, ...fields });
}

/** Register words as they arrive on the wire. */
function regs(words: readonly number[]): Buffer {
  const block = Buffer.alloc(words.length * 2);
  words.forEach((word, i) => block.writeUInt16BE(word, i * 2));
  return block;
}

function decode(fields: Record<string, unknown>, words: readonly number[]): unknown {
  return decodePoint(point(fields), regs(words), 0);
}

/** The 32-bit layouts of bytes A B C D given as 0xAABB, 0xCCDD. */
function layouts32(ab: number, cd: number): Layouts {
  const swap = (w: number): number => ((w & 0xff) << 8) | (w >> 8);
  return { ABCD: [ab, cd], CDAB: [cd, ab], BADC: [swap(ab), swap(cd)], DCBA: [swap(cd), swap(ab)] };
}


interface LayoutCase {
  readonly type: ModbusPoint['type'];
  /** A bigint for the 64-bit integer types, which decode exactly whatever their magnitude. */
  readonly value: number | bigint;
  readonly layouts: Layouts;
  /** What decoding gives when it is not exactly `value` (float32 precision). */
  readonly decoded?: number;
}

/** Byte layouts written by hand, one per order. */
const layoutCases: LayoutCase[] = [
  { type: 'int16', value: 0x1234, layouts: { ABCD: [0x1234], CDAB: [0x1234], BADC: [0x3412], DCBA: [0x3412] } },
  { type: 'int16', value: -2, layouts: { ABCD: [0xfffe], CDAB: [0xfffe], BADC: [0xfeff], DCBA: [0xfeff] } },
  { type: 'int16', value: -32768, layouts: { ABCD: [0x8000], CDAB: [0x8000], BADC: [0x0080], DCBA: [0x0080] } },
  { type: 'int16', value: 32767, layouts: { ABCD: [0x7fff], CDAB: [0x7fff], BADC: [0xff7f], DCBA: [0xff7f] } },
  { type: 'uint16', value: 0xabcd, layouts: { ABCD: [0xabcd], CDAB: [0xabcd], BADC: [0xcdab], DCBA: [0xcdab] } },
  { type: 'uint16', value: 65535, layouts: { ABCD: [0xffff], CDAB: [0xffff], BADC: [0xffff], DCBA: [0xffff] } },
  { type: 'uint16', value: 1, layouts: { ABCD: [0x0001], CDAB: [0x0001], BADC: [0x0100], DCBA: [0x0100] } },
  { type: 'int32', value: 0x12345678, layouts: { ABCD: [0x1234, 0x5678], CDAB: [0x5678, 0x1234], BADC: [0x3412, 0x7856], DCBA: [0x7856, 0x3412] } },
  { type: 'int32', value: -2, layouts: { ABCD: [0xffff, 0xfffe], CDAB: [0xfffe, 0xffff], BADC: [0xffff, 0xfeff], DCBA: [0xfeff, 0xffff] } },
  { type: 'int32', value: -2147483648, layouts: { ABCD: [0x8000, 0x0000], CDAB: [0x0000, 0x8000], BADC: [0x0080, 0x0000], DCBA: [0x0000, 0x0080] } },
  { type: 'int32', value: -123456789, layouts: layouts32(0xf8a4, 0x32eb) },
  { type: 'uint32', value: 0xdeadbeef, layouts: { ABCD: [0xdead, 0xbeef], CDAB: [0xbeef, 0xdead], BADC: [0xadde, 0xefbe], DCBA: [0xefbe, 0xadde] } },
  { type: 'uint32', value: 4294967295, layouts: layouts32(0xffff, 0xffff) },
  { type: 'uint32', value: 70000, layouts: { ABCD: [0x0001, 0x1170], CDAB: [0x1170, 0x0001], BADC: [0x0100, 0x7011], DCBA: [0x7011, 0x0100] } },
  {
    type: 'float32',
    value: 123.456,
    layouts: { ABCD: [0x42f6, 0xe979], CDAB: [0xe979, 0x42f6], BADC: [0xf642, 0x79e9], DCBA: [0x79e9, 0xf642] },
  },
  { type: 'float32', value: -1.5, layouts: { ABCD: [0xbfc0, 0x0000], CDAB: [0x0000, 0xbfc0], BADC: [0xc0bf, 0x0000], DCBA: [0x0000, 0xc0bf] } },
  { type: 'float32', value: 1, layouts: layouts32(0x3f80, 0x0000) },
  {
    type: 'float64',
    value: 123.456,
    layouts: {
      ABCD: [0x405e, 0xdd2f, 0x1a9f, 0xbe77],
      CDAB: [0xbe77, 0x1a9f, 0xdd2f, 0x405e],
      BADC: [0x5e40, 0x2fdd, 0x9f1a, 0x77be],
      DCBA: [0x77be, 0x9f1a, 0x2fdd, 0x5e40],
    },
  },
  {
    type: 'float64',
    value: -0.0025,
    layouts: {
      ABCD: [0xbf64, 0x7ae1, 0x47ae, 0x147b],
      CDAB: [0x147b, 0x47ae, 0x7ae1, 0xbf64],
      BADC: [0x64bf, 0xe17a, 0xae47, 0x7b14],
      DCBA: [0x7b14, 0xae47, 0xe17a, 0x64bf],
    },
  },
  {
    type: 'int64',
    value: 0x0001_0203_0405_0607n,
    layouts: {
      ABCD: [0x0001, 0x0203, 0x0405, 0x0607],
      CDAB: [0x0607, 0x0405, 0x0203, 0x0001],
      BADC: [0x0100, 0x0302, 0x0504, 0x0706],
      DCBA: [0x0706, 0x0504, 0x0302, 0x0100],
    },
  },
  {
    type: 'int64',
    value: -2n,
    layouts: {
      ABCD: [0xffff, 0xffff, 0xffff, 0xfffe],
      CDAB: [0xfffe, 0xffff, 0xffff, 0xffff],
      BADC: [0xffff, 0xffff, 0xffff, 0xfeff],
      DCBA: [0xfeff, 0xffff, 0xffff, 0xffff],
    },
  },
  {
    type: 'int64',
    value: 2n ** 53n + 1n,
    layouts: {
      ABCD: [0x0020, 0x0000, 0x0000, 0x0001],
      CDAB: [0x0001, 0x0000, 0x0000, 0x0020],
      BADC: [0x2000, 0x0000, 0x0000, 0x0100],
      DCBA: [0x0100, 0x0000, 0x0000, 0x2000],
    },
  },
  {
    type: 'int64',
    value: -(2n ** 53n),
    layouts: {
      ABCD: [0xffe0, 0x0000, 0x0000, 0x0000],
      CDAB: [0x0000, 0x0000, 0x0000, 0xffe0],
      BADC: [0xe0ff, 0x0000, 0x0000, 0x0000],
      DCBA: [0x0000, 0x0000, 0x0000, 0xe0ff],
    },
  },
  {
    type: 'uint64',
    value: 2n ** 53n,
    layouts: {
      ABCD: [0x0020, 0x0000, 0x0000, 0x0000],
      CDAB: [0x0000, 0x0000, 0x0000, 0x0020],
      BADC: [0x2000, 0x0000, 0x0000, 0x0000],
      DCBA: [0x0000, 0x0000, 0x0000, 0x2000],
    },
  },
  {
    type: 'uint64',
    value: 0x1234_5678_9abcn,
    layouts: {
      ABCD: [0x0000, 0x1234, 0x5678, 0x9abc],
      CDAB: [0x9abc, 0x5678, 0x1234, 0x0000],
      BADC: [0x0000, 0x3412, 0x7856, 0xbc9a],
      DCBA: [0xbc9a, 0x7856, 0x3412, 0x0000],
    },
  },
];

describe('registerSpan', () => {
  it.each([
    ['int16', 1],
    ['uint16', 1],
    ['int32', 2],
    ['uint32', 2],
    ['float32', 2],
    ['int64', 4],
    ['uint64', 4],
    ['float64', 4],
    ['bool', 1],
  ] as const)('%s spans %i register(s)', (type, span) => {
    expect(registerSpan(point({ type }))).toBe(span);
  });

  it('a bit of a register spans one register, a string its length', () => {
    expect(registerSpan(point({ type: 'bool', bit: 15 }))).toBe(1);
    expect(registerSpan(point({ type: 'string', length: 7 }))).toBe(7);
    expect(registerSpan(point({ type: 'string', length: 125 }))).toBe(125);
  });

  it('coils and discrete inputs are one bit', () => {
    expect(registerSpan(point({ table: 'coil' }))).toBe(1);
    expect(registerSpan(point({ table: 'discrete' }))).toBe(1);
  });

  it('defaults to uint16', () => {
    expect(registerSpan(point({}))).toBe(1);
  });
});

describe('decodePoint and encodePoint: hand-written byte layouts', () => {
  for (const c of layoutCases) {
    for (const order of byteOrders) {
      const words = c.layouts[order];
      const hex = words.map((w) => `0x${w.toString(16).padStart(4, '0')}`).join(' ');
      it(`${c.type} ${c.value} in ${order} is ${hex}`, () => {
        expect(decode({ type: c.type, order }, words)).toBe(c.decoded ?? c.value);
        expect(encodePoint(point({ type: c.type, order }), c.value)).toEqual(words);
      });
    }
  }

  it('CDAB reads 16-bit values like ABCD, and DCBA like BADC', () => {
    for (const type of ['int16', 'uint16'] as const) {
      expect(decode({ type, order: 'CDAB' }, [0x0102])).toBe(0x0102);
      expect(decode({ type, order: 'DCBA' }, [0x0102])).toBe(0x0201);
    }
  });
});

describe('decodePoint: 64-bit integers', () => {
  it('are exact bigints, small values too (the type of a point\'s value never changes)', () => {
    expect(decode({ type: 'int64' }, [0, 0, 0, 7])).toBe(7n);
    expect(decode({ type: 'int64' }, [0x0020, 0, 0, 0])).toBe(2n ** 53n);
    expect(decode({ type: 'int64' }, [0x0020, 0, 0, 1])).toBe(2n ** 53n + 1n); // no double of its own
    expect(decode({ type: 'int64' }, [0xffdf, 0xffff, 0xffff, 0xffff])).toBe(-9007199254740993n);
    expect(decode({ type: 'uint64' }, [0x001f, 0xffff, 0xffff, 0xffff])).toBe(BigInt(Number.MAX_SAFE_INTEGER));
    expect(decode({ type: 'uint64' }, [0xffff, 0xffff, 0xffff, 0xfc18])).toBe(18446744073709550616n);
  });

  it('keep every digit beyond 2^53', () => {
    expect(decode({ type: 'int64' }, [0x0102, 0x0304, 0x0506, 0x0708])).toBe(0x0102_0304_0506_0708n);
    expect(decode({ type: 'int64', order: 'DCBA' }, [0x0807, 0x0605, 0x0403, 0x0201])).toBe(0x0102_0304_0506_0708n);
    expect(decode({ type: 'uint64', order: 'BADC' }, [0x0201, 0x0403, 0x0605, 0x1807])).toBe(0x0102_0304_0506_0718n);
  });

  it('reach their extremes', () => {
    expect(decode({ type: 'int64' }, [0x7fff, 0xffff, 0xffff, 0xffff])).toBe(2n ** 63n - 1n);
    expect(decode({ type: 'int64' }, [0x8000, 0, 0, 0])).toBe(-(2n ** 63n));
    expect(decode({ type: 'int64' }, [0xffff, 0xffff, 0xffff, 0xffff])).toBe(-1n);
    expect(decode({ type: 'uint64' }, [0xffff, 0xffff, 0xffff, 0xffff])).toBe(2n ** 64n - 1n);
    expect(decode({ type: 'uint64' }, [0x8000, 0, 0, 0])).toBe(2n ** 63n);
    expect(decode({ type: 'uint64' }, [0, 0, 0, 0])).toBe(0n);
  });

  it('reads the same value in every order', () => {
    for (const order of byteOrders) {
      expect(decode({ type: 'uint64', order }, wordsOf('uint64', 0xfedc_ba98_7654_3210n, order))).toBe(0xfedc_ba98_7654_3210n);
      expect(decode({ type: 'int64', order }, wordsOf('int64', -0x0123_4567_89ab_cdefn, order))).toBe(-0x0123_4567_89ab_cdefn);
    }
  });

  it('become doubles once scaled or offset', () => {
    expect(decode({ type: 'uint64', scale: 0.001 }, [0, 0, 0, 1500])).toBe(1.5);
  });
});

describe('decodePoint: floats', () => {
  const specials: [string, number, number[], number[]][] = [
    ['NaN', Number.NaN, [0x7fc0, 0x0000], [0x7ff8, 0, 0, 0]],
    ['Infinity', Number.POSITIVE_INFINITY, [0x7f80, 0x0000], [0x7ff0, 0, 0, 0]],
    ['-Infinity', Number.NEGATIVE_INFINITY, [0xff80, 0x0000], [0xfff0, 0, 0, 0]],
  ];
  for (const [label, value, f32, f64] of specials) {
    it(`returns ${label} as it is, in every order`, () => {
      for (const order of byteOrders) {
        expect(decode({ type: 'float32', order }, wordsOf('float32', value, order))).toBe(value);
        expect(decode({ type: 'float64', order }, wordsOf('float64', value, order))).toBe(value);
      }
      expect(decode({ type: 'float32' }, f32)).toBe(value);
      expect(decode({ type: 'float64' }, f64)).toBe(value);
    });
  }

  it('keeps NaN and infinities through scale and offset', () => {
    expect(decode({ type: 'float32', scale: 10, offset: 1 }, [0x7fc0, 0])).toBeNaN();
    expect(decode({ type: 'float32', scale: -2, offset: 1 }, [0x7f80, 0])).toBe(Number.NEGATIVE_INFINITY);
  });

  it('keeps negative zero when there is nothing to scale', () => {
    expect(Object.is(decode({ type: 'float32' }, [0x8000, 0]), -0)).toBe(true);
    expect(Object.is(decode({ type: 'float64', order: 'DCBA' }, [0, 0, 0, 0x0080]), -0)).toBe(true);
  });

  it('decodes subnormals and the largest float32', () => {
    // As their shortest decimals: 1e-45 is the float32 2^-149, 3.4028235e38 the float32 FLT_MAX.
    expect(decode({ type: 'float32' }, [0x0000, 0x0001])).toBe(1e-45);
    expect(Math.fround(1e-45)).toBe(2 ** -149);
    expect(decode({ type: 'float32', order: 'CDAB' }, [0xffff, 0x7f7f])).toBe(3.4028235e38);
    expect(Math.fround(3.4028235e38)).toBe(Math.fround(3.4028234663852886e38));
  });
});

describe('decodePoint: scale and offset', () => {
  it('applies raw * scale + offset to every numeric type', () => {
    expect(decode({ type: 'uint16', scale: 0.1, offset: -5 }, [1234])).toBe(118.4);
    expect(decode({ type: 'uint16', scale: 0.1 }, [58])).toBe(5.8);
    expect(decode({ type: 'int16', scale: 0.01 }, [0xff38])).toBe(-2);
    expect(decode({ type: 'int32', scale: 2, offset: 1 }, [0xffff, 0xfffe])).toBe(-3);
    expect(decode({ type: 'uint32', scale: 0.001, order: 'CDAB' }, [0x86a0, 0x0001])).toBe(100);
    expect(decode({ type: 'int64', scale: 1, offset: 0.5 }, [0, 0, 0, 7])).toBe(7.5);
    expect(decode({ type: 'uint64', scale: 1000 }, [0, 0, 0, 5])).toBe(5000);
    expect(decode({ type: 'float32', scale: 2, offset: -1 }, [0x3fc0, 0])).toBe(2);
    expect(decode({ type: 'float64', scale: -1 }, [0x3ff0, 0, 0, 0])).toBe(-1);
  });

  it('returns the raw value exactly for scale 1 and offset 0', () => {
    expect(decode({ type: 'uint64' }, [0x001f, 0xffff, 0xffff, 0xffff])).toBe(2n ** 53n - 1n);
    expect(decode({ type: 'float64' }, [0x3fb9, 0x9999, 0x9999, 0x999a])).toBe(0.1);
  });

  it('a zero scale gives the offset', () => {
    expect(decode({ type: 'uint16', scale: 0, offset: 42 }, [777])).toBe(42);
  });

  it('does not apply to bool and string points', () => {
    expect(decode({ type: 'bool', scale: 10, offset: 3 }, [0])).toBe(false);
    expect(decode({ type: 'bool', bit: 0, scale: 10, offset: 3 }, [1])).toBe(true);
    expect(decode({ type: 'string', length: 1, scale: 10, offset: 3 }, [0x3132])).toBe('12');
  });
});

describe('decodePoint: bools of a register', () => {
  it('reads each bit of the word', () => {
    const word = 0b1000_0000_0010_1001;
    const set = [0, 3, 5, 15];
    for (let bit = 0; bit < 16; bit++) expect(decode({ type: 'bool', bit }, [word])).toBe(set.includes(bit));
  });

  it('without bit, the whole word is the value', () => {
    expect(decode({ type: 'bool' }, [0])).toBe(false);
    expect(decode({ type: 'bool' }, [1])).toBe(true);
    expect(decode({ type: 'bool' }, [0x8000])).toBe(true);
    expect(decode({ type: 'bool', order: 'DCBA' }, [0x0100])).toBe(true);
  });

  it('counts bits of the word after the byte swap of BADC/DCBA', () => {
    expect(decode({ type: 'bool', bit: 0, order: 'BADC' }, [0x0100])).toBe(true);
    expect(decode({ type: 'bool', bit: 8, order: 'BADC' }, [0x0100])).toBe(false);
    expect(decode({ type: 'bool', bit: 15, order: 'DCBA' }, [0x0080])).toBe(true);
    expect(decode({ type: 'bool', bit: 15, order: 'CDAB' }, [0x8000])).toBe(true);
  });
});

describe('decodePoint: strings', () => {
  it('reads characters in register order', () => {
    expect(decode({ type: 'string', length: 3 }, [0x4845, 0x4c4c, 0x4f00])).toBe('HELLO');
    expect(decode({ type: 'string', length: 2 }, [0x5057, 0x4d31])).toBe('PWM1');
  });

  it('swaps the characters of each register for BADC and DCBA, and ignores the word swap', () => {
    expect(decode({ type: 'string', length: 3, order: 'BADC' }, [0x4548, 0x4c4c, 0x004f])).toBe('HELLO');
    expect(decode({ type: 'string', length: 3, order: 'DCBA' }, [0x4548, 0x4c4c, 0x004f])).toBe('HELLO');
    expect(decode({ type: 'string', length: 3, order: 'CDAB' }, [0x4845, 0x4c4c, 0x4f00])).toBe('HELLO');
  });

  it('trims trailing NULs and spaces, nothing else', () => {
    expect(decode({ type: 'string', length: 4 }, [0x2041, 0x2042, 0x2000, 0x0020])).toBe(' A B');
    expect(decode({ type: 'string', length: 3 }, [0x4100, 0x4200, 0x0000])).toBe('A\0B');
    expect(decode({ type: 'string', length: 2 }, [0x0000, 0x0000])).toBe('');
    expect(decode({ type: 'string', length: 2 }, [0x2020, 0x2020])).toBe('');
    expect(decode({ type: 'string', length: 1 }, [0x4142])).toBe('AB');
  });

  it('decodes bytes as latin1', () => {
    expect(decode({ type: 'string', length: 2 }, [0xe97a, 0xff00])).toBe('\u00e9z\u00ff');
  });

  it('reads a string of 125 registers', () => {
    const text = 'x'.repeat(249) + 'y';
    expect(decode({ type: 'string', length: 125 }, wordsOf('string', text, 'ABCD', 125))).toBe(text);
    expect(decode({ type: 'string', length: 125, order: 'BADC' }, wordsOf('string', text, 'BADC', 125))).toBe(text);
  });
});

describe('decodePoint: position in the block', () => {
  it('reads the point where it lies in a coalesced block', () => {
    const block = regs([0xaaaa, 0xbbbb, 0x1234, 0x5678, 0xcccc]);
    expect(decodePoint(point({ address: 12, type: 'int32' }), block, 10)).toBe(0x12345678);
    expect(decodePoint(point({ address: 12, type: 'int32', order: 'CDAB' }), block, 10)).toBe(0x56781234);
    expect(decodePoint(point({ address: 12, type: 'int32', order: 'BADC' }), block, 10)).toBe(0x34127856);
    expect(decodePoint(point({ address: 14, type: 'uint16' }), block, 10)).toBe(0xcccc);
    expect(decodePoint(point({ address: 10, type: 'uint16', order: 'BADC' }), block, 10)).toBe(0xaaaa);
    expect(decodePoint(point({ address: 13, type: 'string', length: 2, order: 'BADC' }), block, 10)).toBe('xV\u00cc\u00cc');
  });

  it('throws a RangeError when the block does not hold the point', () => {
    const block = regs([1, 2, 3, 4]);
    expect(() => decodePoint(point({ address: 9, type: 'uint16' }), block, 10)).toThrow(RangeError);
    expect(() => decodePoint(point({ address: 12, type: 'float64' }), block, 10)).toThrow(RangeError);
    expect(() => decodePoint(point({ address: 14, type: 'uint16' }), block, 10)).toThrow(/outside the block/);
    expect(() => decodePoint(point({ address: 13, type: 'string', length: 2 }), block, 10)).toThrow(RangeError);
    expect(decodePoint(point({ address: 10, type: 'float64', order: 'DCBA' }), block, 10)).toBe(block.readDoubleLE(0));
  });

  it('does not let the scratch buffer leak between calls', () => {
    const a = decode({ type: 'float64', order: 'BADC' }, wordsOf('float64', 1.25, 'BADC'));
    const b = decode({ type: 'int32', order: 'CDAB' }, [0x0001, 0x0000]);
    const c = decode({ type: 'string', length: 1, order: 'BADC' }, [0x4241]);
    expect([a, b, c]).toEqual([1.25, 1, 'AB']);
  });
});

describe('decodeBit', () => {
  const bits = [false, true, false, true, true];

  it('reads the point bit from a block starting at blockStart', () => {
    expect(decodeBit(point({ table: 'coil', address: 101 }), bits, 100)).toBe(true);
    expect(decodeBit(point({ table: 'coil', address: 100 }), bits, 100)).toBe(false);
    expect(decodeBit(point({ table: 'discrete', address: 104 }), bits, 100)).toBe(true);
  });

  it('throws a RangeError outside the block', () => {
    expect(() => decodeBit(point({ table: 'coil', address: 99 }), bits, 100)).toThrow(RangeError);
    expect(() => decodeBit(point({ table: 'coil', address: 105 }), bits, 100)).toThrow(/outside the block/);
  });
});

describe('encodePoint', () => {
  it('clamps integers to the range of their type', () => {
    expect(encodePoint(point({ type: 'int16' }), 40000)).toEqual([0x7fff]);
    expect(encodePoint(point({ type: 'int16' }), -40000)).toEqual([0x8000]);
    expect(encodePoint(point({ type: 'uint16' }), -5)).toEqual([0]);
    expect(encodePoint(point({ type: 'uint16' }), 70000)).toEqual([0xffff]);
    expect(encodePoint(point({ type: 'int32' }), 1e12)).toEqual([0x7fff, 0xffff]);
    expect(encodePoint(point({ type: 'int32' }), -1e12)).toEqual([0x8000, 0]);
    expect(encodePoint(point({ type: 'uint32' }), -1)).toEqual([0, 0]);
    expect(encodePoint(point({ type: 'uint32' }), Number.POSITIVE_INFINITY)).toEqual([0xffff, 0xffff]);
    expect(encodePoint(point({ type: 'int64' }), 1e30)).toEqual([0x7fff, 0xffff, 0xffff, 0xffff]);
    expect(encodePoint(point({ type: 'int64' }), 2 ** 63)).toEqual([0x7fff, 0xffff, 0xffff, 0xffff]);
    expect(encodePoint(point({ type: 'int64' }), -(2 ** 63))).toEqual([0x8000, 0, 0, 0]);
    expect(encodePoint(point({ type: 'int64' }), Number.NEGATIVE_INFINITY)).toEqual([0x8000, 0, 0, 0]);
    expect(encodePoint(point({ type: 'uint64' }), -1)).toEqual([0, 0, 0, 0]);
    expect(encodePoint(point({ type: 'uint64' }), 2 ** 64)).toEqual([0xffff, 0xffff, 0xffff, 0xffff]);
    expect(encodePoint(point({ type: 'uint64', order: 'DCBA' }), 2 ** 64 - 2048)).toEqual([0x00f8, 0xffff, 0xffff, 0xffff]);
  });

  it('rounds integers to the nearest raw value', () => {
    expect(encodePoint(point({ type: 'int16' }), 2.5)).toEqual([3]);
    expect(encodePoint(point({ type: 'int16' }), -2.6)).toEqual([0xfffd]);
    expect(encodePoint(point({ type: 'int16', scale: 0.1 }), 12.34)).toEqual([123]);
    expect(encodePoint(point({ type: 'uint16', scale: 0.1, offset: -5 }), 118.4)).toEqual([1234]);
    expect(encodePoint(point({ type: 'int64', scale: 0.5 }), 3.3)).toEqual([0, 0, 0, 7]);
  });

  it('inverts scale and offset for floats without rounding', () => {
    expect(encodePoint(point({ type: 'float32', scale: 2, offset: -1 }), 2)).toEqual([0x3fc0, 0]);
    expect(encodePoint(point({ type: 'float64', scale: -1 }), -1)).toEqual([0x3ff0, 0, 0, 0]);
  });

  it('refuses NaN for integer types, keeps it for floats', () => {
    expect(() => encodePoint(point({ type: 'int16' }), Number.NaN)).toThrow(RangeError);
    expect(() => encodePoint(point({ type: 'uint64' }), 'not a number')).toThrow(RangeError);
    expect(encodePoint(point({ type: 'float32' }), Number.NaN)).toEqual([0x7fc0, 0]);
    expect(encodePoint(point({ type: 'float64', order: 'CDAB' }), Number.NaN)).toEqual([0, 0, 0, 0x7ff8]);
  });

  it('takes booleans and numeric strings for numeric types', () => {
    expect(encodePoint(point({ type: 'uint16' }), true)).toEqual([1]);
    expect(encodePoint(point({ type: 'int32' }), '-2')).toEqual([0xffff, 0xfffe]);
  });

  it('sets or clears one bit of the current word', () => {
    expect(encodePoint(point({ type: 'bool', bit: 0 }), true, 0x00f0)).toEqual([0x00f1]);
    expect(encodePoint(point({ type: 'bool', bit: 4 }), false, 0x00f0)).toEqual([0x00e0]);
    expect(encodePoint(point({ type: 'bool', bit: 15 }), true, 0x0001)).toEqual([0x8001]);
    expect(encodePoint(point({ type: 'bool', bit: 15 }), false, 0xffff)).toEqual([0x7fff]);
    expect(encodePoint(point({ type: 'bool', bit: 3 }), true)).toEqual([0x0008]);
    expect(encodePoint(point({ type: 'bool', bit: 3 }), true, 0x0008)).toEqual([0x0008]);
  });

  it('merges a bit into a byte-swapped word in wire order', () => {
    // Wire 0xF000 is the word 0x00F0 after the BADC swap; setting bit 0 makes 0x00F1, on the wire 0xF100.
    expect(encodePoint(point({ type: 'bool', bit: 0, order: 'BADC' }), true, 0xf000)).toEqual([0xf100]);
    expect(encodePoint(point({ type: 'bool', bit: 12, order: 'DCBA' }), true, 0)).toEqual([0x0010]);
  });

  it('writes a whole-word bool as 1 or 0', () => {
    expect(encodePoint(point({ type: 'bool' }), true, 0xffff)).toEqual([1]);
    expect(encodePoint(point({ type: 'bool' }), false, 0xffff)).toEqual([0]);
    expect(encodePoint(point({ type: 'bool', order: 'BADC' }), true)).toEqual([0x0100]);
    expect(encodePoint(point({ type: 'bool' }), 5)).toEqual([1]);
    expect(encodePoint(point({ table: 'coil' }), true)).toEqual([1]);
    expect(encodePoint(point({ table: 'discrete' }), 0)).toEqual([0]);
  });

  it('pads strings with NULs and cuts them to their length', () => {
    expect(encodePoint(point({ type: 'string', length: 3 }), 'HELLO')).toEqual([0x4845, 0x4c4c, 0x4f00]);
    expect(encodePoint(point({ type: 'string', length: 3, order: 'BADC' }), 'HELLO')).toEqual([0x4548, 0x4c4c, 0x004f]);
    expect(encodePoint(point({ type: 'string', length: 3, order: 'CDAB' }), 'HELLO')).toEqual([0x4845, 0x4c4c, 0x4f00]);
    expect(encodePoint(point({ type: 'string', length: 2 }), 'TOO LONG')).toEqual([0x544f, 0x4f20]);
    expect(encodePoint(point({ type: 'string', length: 2 }), '')).toEqual([0, 0]);
    expect(encodePoint(point({ type: 'string', length: 1 }), 42)).toEqual([0x3432]);
  });

  it('writes latin1 and replaces other characters with "?"', () => {
    expect(encodePoint(point({ type: 'string', length: 2 }), '\u00e9\u20ac!')).toEqual([0xe93f, 0x2100]);
  });
});

describe('round trips', () => {
  const random = seededRandom(20240601);
  const integerValues: Record<string, number[]> = {
    int16: [0, 1, -1, 32767, -32768, 12345, -12345],
    uint16: [0, 1, 255, 256, 65535, 43981],
    int32: [0, -1, 2147483647, -2147483648, 65536, -65537, 123456789],
    uint32: [0, 1, 65535, 65536, 4294967295, 3735928559],
    int64: [0, -1, 2 ** 53 - 1, -(2 ** 53) + 1, 2 ** 53, 2 ** 53 + 2, -(2 ** 62), 2 ** 63 - 1024, -(2 ** 63), 4294967296, -4294967297],
    uint64: [0, 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 60 + 4096, 2 ** 64 - 2048],
  };
  const [int16, uint16, int32, uint32, int64, uint64] = [
    [-32768, 32767],
    [0, 65535],
    [-(2 ** 31), 2 ** 31 - 1],
    [0, 2 ** 32 - 1],
    [-(2 ** 53), 2 ** 53],
    [0, 2 ** 53],
  ] as const;
  const ranges = { int16, uint16, int32, uint32, int64, uint64 };
  for (const [type, [min, max]] of Object.entries(ranges)) {
    for (let i = 0; i < 40; i++) integerValues[type]!.push(min + Math.floor(random() * (max - min + 1)));
  }
  const floatValues = [0, -0, 1, -1, 123.456, -0.0025, 1e-40, 3.4e38, -1e300, 5e-324, Math.PI, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
  for (let i = 0; i < 40; i++) floatValues.push((random() - 0.5) * 10 ** Math.floor(random() * 40 - 20));

  for (const order of byteOrders) {
    for (const [type, values] of Object.entries(integerValues)) {
      it(`${type} ${order}: decode(encode(v)) is v, and the words match the reference encoder`, () => {
        const p = point({ type, order });
        for (const value of values) {
          const words = encodePoint(p, value);
          expect(words).toEqual(wordsOf(type, type.endsWith('64') ? BigInt(value) : value, order));
          expect(decodePoint(p, regs(words), 0)).toBe(type.endsWith('64') ? BigInt(value) : value);
        }
      });
    }

    for (const type of ['float32', 'float64'] as const) {
      it(`${type} ${order}: decode(encode(v)) is v at the type's precision`, () => {
        const p = point({ type, order });
        for (const value of [...floatValues, Number.NaN]) {
          const words = encodePoint(p, value);
          expect(words).toEqual(wordsOf(type, value, order));
          expect(decodePoint(p, regs(words), 0)).toBe(type === 'float32' ? shortestFloat32(Math.fround(value)) : value);
        }
      });
    }

    it(`scaled int32 ${order}: values on the scale's grid survive encode and decode`, () => {
      const p = point({ type: 'int32', order, scale: 0.01, offset: -40 });
      for (let i = 0; i < 50; i++) {
        const value = Math.round((random() * 2000 - 1000) * 100) / 100;
        expect(decodePoint(p, regs(encodePoint(p, value)), 0)).toBeCloseTo(value, 9);
      }
    });

    it(`string ${order}: round trips for odd and even lengths`, () => {
      for (const [text, length] of [['A', 1], ['AB', 1], ['ABC', 2], ['Serial-00042', 6], ['Serial-0042', 6], ['caf\u00e9', 3], ['', 2], [' lead', 3]] as const) {
        const p = point({ type: 'string', length, order });
        const words = encodePoint(p, text);
        expect(words).toHaveLength(length);
        expect(words).toEqual(wordsOf('string', text, order, length));
        expect(decodePoint(p, regs(words), 0)).toBe(text);
      }
    });

    it(`bool ${order}: every bit round trips and leaves the other bits alone`, () => {
      for (let bit = 0; bit < 16; bit++) {
        const p = point({ type: 'bool', bit, order });
        const current = Math.floor(random() * 65536);
        for (const value of [true, false]) {
          const words = encodePoint(p, value, current);
          expect(words).toHaveLength(1);
          expect(decodePoint(p, regs(words), 0)).toBe(value);
          // Every other bit keeps its value, read through the same order.
          for (let other = 0; other < 16; other++) {
            if (other === bit) continue;
            const q = point({ type: 'bool', bit: other, order });
            expect(decodePoint(q, regs(words), 0)).toBe(decodePoint(q, regs([current]), 0));
          }
        }
      }
      const whole = point({ type: 'bool', order });
      expect(decodePoint(whole, regs(encodePoint(whole, true)), 0)).toBe(true);
      expect(decodePoint(whole, regs(encodePoint(whole, false)), 0)).toBe(false);
    });
  }

  it('encodes the decoded value of any random words back to the same words (integers and floats)', () => {
    for (const order of byteOrders) {
      for (const type of ['int16', 'uint16', 'int32', 'uint32', 'float32', 'float64'] as const) {
        const p = point({ type, order });
        for (let i = 0; i < 50; i++) {
          const words = Array.from({ length: registerSpan(p) }, () => Math.floor(random() * 65536));
          const value = decodePoint(p, regs(words), 0);
          // A NaN's payload bits are not a value: only the canonical NaN comes back.
          if (Number.isNaN(value)) continue;
          expect(encodePoint(p, value)).toEqual(words);
        }
      }
    }
  });
});

describe('shortestFloat32', () => {
  const significantDigits = (value: number): number => value.toExponential().replace(/^-?/, '').replace(/e.*$/, '').replace('.', '').length;

  it('reads back as the same float32, and no shorter decimal does', () => {
    const random = seededRandom(7);
    for (let i = 0; i < 5000; i++) {
      const float = Math.fround((random() - 0.5) * 10 ** Math.floor(random() * 60 - 30));
      const short = shortestFloat32(float);
      expect(Math.fround(short)).toBe(float);
      const digits = significantDigits(short);
      if (digits > 1) expect(Math.fround(Number(float.toPrecision(digits - 1)))).not.toBe(float);
    }
  });

  it('keeps zeros, infinities and NaN as they are', () => {
    expect(Object.is(shortestFloat32(-0), -0)).toBe(true);
    expect(shortestFloat32(Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY);
    expect(shortestFloat32(Number.NaN)).toBeNaN();
    expect(shortestFloat32(Math.fround(250.7175))).toBe(250.7175);
  });
});
