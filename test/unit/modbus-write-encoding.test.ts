import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { modbusPointSchema } from '../../drivers/modbus/config.js';
import { decodePoint } from '../../drivers/modbus/codec.js';
import { encodeWrite, heldValue, WriteRefusal, wordsBuffer } from '../../drivers/modbus/write-encoding.js';
import { parseCommand, parseCommandBytes, staleness } from '../../gateway/commands/command-payload.js';

const point = (fields: Record<string, unknown>) => modbusPointSchema.parse({ name: 'p', address: 0, writable: true, ...fields });
const refusal = (fields: Record<string, unknown>, value: unknown): string => {
  try {
    encodeWrite(point(fields), value);
  } catch (error) {
    if (error instanceof WriteRefusal) return error.message;
    throw error;
  }
  throw new Error(`${JSON.stringify(value)} was not refused`);
};

describe('encodeWrite', () => {
  it('writes coils as bits and other points as register words', () => {
    expect(encodeWrite(point({ table: 'coil' }), true)).toEqual({ table: 'coil', bits: [true] });
    expect(encodeWrite(point({ type: 'int32', order: 'CDAB' }), -2)).toEqual({ table: 'holding', registers: [0xfffe, 0xffff] });
    expect(encodeWrite(point({ type: 'bool', bit: 2 }), true, 0x8001)).toEqual({ table: 'holding', registers: [0x8005] });
    expect(encodeWrite(point({ type: 'uint16', scale: 0.1, offset: -5 }), 42.5)).toEqual({ table: 'holding', registers: [475] });
  });

  it('refuses what the point would not read back: type, range, steps of the scale, min/max, 2^53', () => {
    expect(refusal({ writable: false }, 1)).toBe('point p is not writable');
    expect(refusal({ table: 'coil' }, 'on')).toBe('point p takes true or false, not "on"');
    expect(refusal({}, null)).toBe('point p takes a number, not null');
    expect(refusal({}, Number.NaN)).toBe('point p takes a number, not NaN');
    expect(refusal({ type: 'int16' }, 32768)).toBe('32768 is out of range for int16: -32768 to 32767');
    expect(refusal({ type: 'int16', scale: 0.1 }, 3276.8)).toBe('3276.8 is out of range for int16 with scale 0.1: -3276.8 to 3276.7');
    expect(refusal({ type: 'uint16', scale: -1 }, 1)).toBe('1 is out of range for uint16 with scale -1: -65535 to 0');
    expect(refusal({ type: 'uint32' }, 0.5)).toBe('0.5 is not a value p can hold (uint32): the nearest is 1');
    // Unscaled 64-bit points are exact: a JSON number past 2^53 may already have lost digits, so it must come as a string.
    expect(refusal({ type: 'int64' }, 2 ** 53)).toMatch(/takes a whole number \(beyond 2\^53 as a string of digits/);
    expect(refusal({ type: 'uint64' }, '18446744073709551616')).toBe('18446744073709551616 is out of range for uint64: 0 to 18446744073709551615');
    expect(refusal({ type: 'int64', scale: 10 }, 2 ** 60)).toMatch(/out of range for int64 with scale 10: .*\(64-bit integers are written exactly up to 2\^53\)/);
    expect(refusal({ type: 'float32' }, 1e39)).toBe('1e+39 is out of range for float32');
    expect(refusal({ type: 'float32', min: 1, max: 2 }, 2.5)).toBe("2.5 is above the point's max 2");
    expect(refusal({ type: 'string', length: 1 }, 'abc')).toBe('"abc" is longer than the 2 characters point p holds');
    expect(refusal({ type: 'string', length: 2 }, 'a ')).toBe('"a " ends in a space, which a read drops as padding');
    expect(refusal({ type: 'string', length: 2 }, '€')).toBe('point p holds latin1 text without NUL characters');
  });

  it('writes 64-bit integers beyond 2^53 exactly when given as digits', () => {
    for (const [type, digits] of [['int64', '-9007199254740993'], ['uint64', '18446744073709551000'], ['int64', '9223372036854775807']] as const) {
      const p = point({ type });
      expect(heldValue(p, encodeWrite(p, digits))).toBe(BigInt(digits));
    }
  });

  it('accepts every value an integer point can hold, and it decodes back to the same value', () => {
    const types = ['int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64'] as const;
    const orders = ['ABCD', 'CDAB', 'BADC', 'DCBA'] as const;
    fc.assert(
      fc.property(fc.constantFrom(...types), fc.constantFrom(...orders), fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }), fc.constantFrom(1, 0.1, 0.01, 10), fc.constantFrom(0, -40, 2.5), (type, order, raw, scale, offset) => {
        const p = point({ type, order, scale, offset });
        const value = decodePoint(p, wordsBuffer(encodeWordsOf(p, raw)), 0) as number;
        const write = encodeWrite(p, value);
        expect(heldValue(p, write)).toBe(value);
      }),
    );
  });
});

/** The register words of a raw integer in the point's type, clamped to the type (the codec's own writer). */
function encodeWordsOf(p: ReturnType<typeof point>, raw: number): number[] {
  const identity = { ...p, scale: 1, offset: 0 };
  const range: Record<string, [number, number]> = { int16: [-32768, 32767], uint16: [0, 65535], int32: [-(2 ** 31), 2 ** 31 - 1], uint32: [0, 2 ** 32 - 1], int64: [-(2 ** 31), 2 ** 32], uint64: [0, 2 ** 32] };
  const [low, high] = range[p.type]!;
  const write = encodeWrite(identity, Math.min(high, Math.max(low, raw)));
  return write.table === 'holding' ? [...write.registers] : [];
}

describe('command payloads', () => {
  it('takes value, ts and id, and refuses anything else with a reason (keeping the id to match the refusal)', () => {
    expect(parseCommand({ value: 42 })).toEqual({ value: 42 });
    expect(parseCommand({ value: false, ts: 1_795_405_973_402, id: 'op-1' })).toEqual({ value: false, ts: 1_795_405_973_402, id: 'op-1' });
    expect(parseCommand({ value: 1, by: 'me', id: 'x' })).toEqual({ error: 'unknown key "by" (a command has value, and optionally ts and id)', id: 'x' });
    expect(parseCommand({ value: null })).toEqual({ error: 'a command needs a value: a number, true/false or a string' });
    expect(parseCommand({ value: 1, ts: 1_795_405_973 })).toEqual({ error: 'ts is the send time in epoch milliseconds (an integer)' });
    expect(parseCommand({ value: 1, id: '' })).toEqual({ error: 'id is a string of 1 to 128 characters' });
    expect(parseCommand([1])).toEqual({ error: 'a command is a JSON object like {"value":42}' });
    expect(parseCommandBytes(Buffer.from('{"value":'))).toEqual({ error: 'payload is not JSON (a command is like {"value":42})' });
  });

  it('calls a command stale beyond max_age either way of the clock, and one without ts fresh', () => {
    expect(staleness(undefined, 1e12, 10_000)).toBeUndefined();
    expect(staleness(1e12 - 10_000, 1e12, 10_000)).toBeUndefined();
    expect(staleness(1e12 - 10_001, 1e12, 10_000)).toBe('stale command: sent 10 s ago, more than commands.max_age (10 s)');
    expect(staleness(1e12 + 60_000, 1e12, 10_000)).toBe("command ts is 60 s ahead of the gateway's clock, more than commands.max_age (10 s)");
  });
});
