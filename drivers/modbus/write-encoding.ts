/**
 * What a command may write to a point, as register words or a coil state. Pure, no I/O.
 *
 * The codec (codec.ts) lays a value out in the point's type and order, rounding and clamping as a simulator wants;
 * a command must not be rounded or clamped behind the operator's back. So a value is refused unless the point would
 * read back exactly that value (up to the type's own precision for floats): of the wrong JSON type, outside min/max,
 * outside the register type's range after scale and offset, between two steps of the scale for an integer type, or
 * beyond 2^53 for a 64-bit integer (a JSON number is a double: past 2^53 it no longer names one integer).
 */
import type { ReadingValue } from '../../gateway/model.js';
import type { ModbusPoint } from './config.js';
import { decodePoint, encodePoint } from './codec.js';
import type { RegisterType } from './registers.js';

export type EncodedWrite =
  | { readonly table: 'coil'; readonly bits: readonly boolean[] }
  | { readonly table: 'holding'; readonly registers: readonly number[] };

/** Why a value cannot be written; the message goes to the operator as it is. */
export class WriteRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WriteRefusal';
  }
}

const integerRange = {
  int16: [-0x8000, 0x7fff],
  uint16: [0, 0xffff],
  int32: [-0x8000_0000, 0x7fff_ffff],
  uint32: [0, 0xffff_ffff],
  // With scale or offset a 64-bit point is a double: exact up to 2^53 (without, see encodeExact64).
  int64: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint64: [0, Number.MAX_SAFE_INTEGER],
} as const;
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * The words (or coil state) that make `point` hold `value`. `currentWord` is the register as on the wire now: a bool
 * at a `bit` of a holding register changes that bit only. Throws WriteRefusal.
 */
export function encodeWrite(point: ModbusPoint, value: unknown, currentWord?: number): EncodedWrite {
  if (!point.writable) throw new WriteRefusal(`point ${point.name} is not writable`);
  if (point.type === 'bool') {
    if (typeof value !== 'boolean') throw new WriteRefusal(`point ${point.name} takes true or false, not ${describe(value)}`);
    if (point.table === 'coil') return { table: 'coil', bits: [value] };
    return { table: 'holding', registers: encodePoint(point, value, currentWord) };
  }
  if (point.type === 'string') return { table: 'holding', registers: encodeText(point, value) };
  if (isExact64(point)) return { table: 'holding', registers: encodeExact64(point, value) };
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new WriteRefusal(`point ${point.name} takes a number, not ${describe(value)}`);
  if (point.min !== undefined && value < point.min) throw new WriteRefusal(`${value} is below the point's min ${point.min}`);
  if (point.max !== undefined && value > point.max) throw new WriteRefusal(`${value} is above the point's max ${point.max}`);
  checkRange(point, point.type, value);
  const registers = encodePoint(point, value);
  if (point.type === 'float32' || point.type === 'float64') return { table: 'holding', registers };
  const held = decodePoint(point, wordsBuffer(registers), point.address);
  if (held !== value) throw new WriteRefusal(`${value} is not a value ${point.name} can hold (${point.type}${scaling(point)}): the nearest is ${String(held)}`);
  return { table: 'holding', registers };
}

/** What the point holds after `write` (or any words the device answers with), decoded as a poll would. */
export function heldValue(point: ModbusPoint, write: EncodedWrite): ReadingValue {
  if (write.table === 'coil') return write.bits[0] ?? false;
  return decodePoint(point, wordsBuffer(write.registers), point.address);
}

/** Register words as modbus-serial's reads hand them over: big-endian bytes. */
export function wordsBuffer(words: readonly number[]): Buffer {
  const buffer = Buffer.alloc(words.length * 2);
  words.forEach((word, i) => buffer.writeUInt16BE(word, i * 2));
  return buffer;
}

function checkRange(point: ModbusPoint, type: Exclude<RegisterType, 'bool' | 'string'>, value: number): void {
  const raw = point.scale === 1 && point.offset === 0 ? value : (value - point.offset) / point.scale;
  if (type === 'float32' || type === 'float64') {
    if (type === 'float32' && Math.abs(raw) > FLOAT32_MAX) throw new WriteRefusal(`${value} is out of range for float32${scaling(point)}`);
    return;
  }
  const [low, high] = integerRange[type];
  if (raw < low - 0.5 || raw >= high + 0.5) {
    // Said as the decoder would read them: 32767 * 0.1 is 3276.7, not 3276.7000000000003.
    const [first, last] = [low, high].map((bound) => (point.scale === 1 && point.offset === 0 ? bound : Number((bound * point.scale + point.offset).toPrecision(15)))).sort((a, b) => a - b);
    const exact = type === 'int64' || type === 'uint64' ? ' (64-bit integers are written exactly up to 2^53)' : '';
    throw new WriteRefusal(`${value} is out of range for ${type}${scaling(point)}: ${first} to ${last}${exact}`);
  }
}

/** An int64/uint64 point without scale or offset: its value is exact (a bigint when read), whatever its size. */
function isExact64(point: ModbusPoint): boolean {
  return (point.type === 'int64' || point.type === 'uint64') && point.scale === 1 && point.offset === 0;
}

const exact64Range = { int64: [-(2n ** 63n), 2n ** 63n - 1n], uint64: [0n, 2n ** 64n - 1n] } as const;

/** A whole number, exactly: a safe integer, a bigint, or — beyond 2^53, which JSON numbers cannot carry — a string of digits. */
function encodeExact64(point: ModbusPoint, value: unknown): number[] {
  let n: bigint;
  if (typeof value === 'bigint') n = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) n = BigInt(value);
  else if (typeof value === 'string' && /^-?\d{1,20}$/.test(value)) n = BigInt(value);
  else throw new WriteRefusal(`point ${point.name} takes a whole number (beyond 2^53 as a string of digits, e.g. "18446744073709551000"), not ${describe(value)}`);
  const [low, high] = exact64Range[point.type as 'int64' | 'uint64'];
  if (n < low || n > high) throw new WriteRefusal(`${n} is out of range for ${point.type}: ${low} to ${high}`);
  if (point.min !== undefined && n < BigInt(Math.ceil(point.min))) throw new WriteRefusal(`${n} is below the point's min ${point.min}`);
  if (point.max !== undefined && n > BigInt(Math.floor(point.max))) throw new WriteRefusal(`${n} is above the point's max ${point.max}`);
  const registers = encodePoint(point, n);
  const held = decodePoint(point, wordsBuffer(registers), point.address);
  if (held !== n) throw new WriteRefusal(`${n} is not a value ${point.name} can hold (${point.type}): the nearest is ${String(held)}`);
  return registers;
}

function encodeText(point: ModbusPoint, value: unknown): number[] {
  if (typeof value !== 'string') throw new WriteRefusal(`point ${point.name} takes a string, not ${describe(value)}`);
  const room = 2 * (point.length ?? 0);
  if (value.length > room) throw new WriteRefusal(`"${value}" is longer than the ${room} characters point ${point.name} holds`);
  // eslint-disable-next-line no-control-regex -- NUL pads a register string: a value ending in one would read back shorter.
  if (/[^\u0001-\u00ff]/.test(value)) throw new WriteRefusal(`point ${point.name} holds latin1 text without NUL characters`);
  if (/ $/.test(value)) throw new WriteRefusal(`"${value}" ends in a space, which a read drops as padding`);
  return encodePoint(point, value);
}

function scaling(point: ModbusPoint): string {
  const parts = [point.scale !== 1 ? `scale ${point.scale}` : '', point.offset !== 0 ? `offset ${point.offset}` : ''].filter(Boolean);
  return parts.length ? ` with ${parts.join(', ')}` : '';
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return JSON.stringify(value) ?? typeof value;
}
