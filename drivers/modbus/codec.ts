/**
 * Register codec: the raw bytes of a Modbus read to a point's value, and back. Pure, no I/O.
 *
 * Byte order. Registers travel big-endian, 2 bytes each. The order letters name the order in which the bytes of a
 * 32-bit value, A (most significant) to D, arrive:
 *   ABCD  big-endian                                        registers AB CD
 *   CDAB  word swap: registers reversed, bytes big-endian   registers CD AB
 *   BADC  bytes swapped within each register                registers BA DC
 *   DCBA  little-endian                                     registers DC BA
 * 64-bit values follow the same rule with bytes A..H: CDAB reverses all four registers (GH EF CD AB), BADC gives
 * BA DC FE HG, DCBA is little-endian. For 16-bit values only the byte swap matters: BADC and DCBA swap the two bytes,
 * CDAB reads like ABCD. A bool of a register reads its word by the 16-bit rule, so `bit` counts from the least
 * significant bit of the value after any swap. Strings are always in register order; BADC and DCBA swap the two
 * characters of each register.
 *
 * Every order is one Buffer read: ABCD is big-endian and DCBA little-endian as they arrive, and swapping the bytes of
 * each register turns BADC into big-endian and CDAB into little-endian. Only those two go through a scratch buffer.
 *
 * 64-bit integers (int64, uint64) are exact: a bigint whatever their magnitude, so a point's value type (and its
 * InfluxDB field type) never changes with the value. Scaled or offset, they become a double like any scaled number.
 */
import type { ModbusPoint } from './config.js';
import { registerSpan } from './registers.js';
import type { ReadingValue } from '../../gateway/model.js';

type Order = ModbusPoint['order'];
type NumericType = Exclude<ModbusPoint['type'], 'bool' | 'string'>;
type SmallIntegerType = 'int16' | 'uint16' | 'int32' | 'uint32';

/** Big enough for the longest point, a string of 125 registers. Reused: decoding and encoding are synchronous. */
const scratch = Buffer.alloc(250);

const smallIntegerRange: Record<SmallIntegerType, readonly [min: number, max: number]> = {
  int16: [-0x8000, 0x7fff],
  uint16: [0, 0xffff],
  int32: [-0x8000_0000, 0x7fff_ffff],
  uint32: [0, 0xffff_ffff],
};
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;


/**
 * The value of a holding/input register point. `block` holds the registers of one read as on the wire (the `buffer`
 * of modbus-serial's register reads), starting at register `blockStart`. Numbers are raw * scale + offset; a float's
 * NaN or ±Infinity comes back as it is (the driver marks it bad). Throws a RangeError if the block misses the point.
 */
export function decodePoint(point: ModbusPoint, block: Buffer, blockStart: number): ReadingValue {
  const at = (point.address - blockStart) * 2;
  const bytes = registerSpan(point) * 2;
  if (at < 0 || at + bytes > block.length) {
    throw new RangeError(`point ${point.name} (registers ${point.address}..${point.address + bytes / 2 - 1}) is outside the block read (${block.length / 2} registers from ${blockStart})`);
  }
  switch (point.type) {
    case 'bool':
      return decodeBool(point, readWord(block, at, point.order));
    case 'string':
      return decodeString(block, at, bytes, point.order);
    default:
      return scaled(point, readNumber(point.type, block, at, bytes, point.order));
  }
}

/** The value of a coil or discrete input from a bit read starting at `blockStart`. */
export function decodeBit(point: ModbusPoint, bits: readonly boolean[], blockStart: number): boolean {
  const bit = bits[point.address - blockStart];
  if (bit === undefined) {
    throw new RangeError(`point ${point.name} (bit ${point.address}) is outside the block read (${bits.length} bits from ${blockStart})`);
  }
  return bit;
}

/**
 * The register words (0..65535, as on the wire) that make `point` decode to `value`, to store from point.address on.
 * Numbers (any value through Number()) invert scale/offset; integer types round and clamp to the type's range, NaN
 * is a RangeError; a bigint for an unscaled 64-bit point is stored exactly (clamped). A bool takes the value's truthiness. With `bit` it changes only that bit of `current`, the
 * register's present wire word, and returns the merged word (without `current`, the other bits are 0); any other bool
 * is one word 1 or 0, also what a coil holds. A string is cut or NUL-padded to its length; characters beyond latin1
 * become '?'.
 */
export function encodePoint(point: ModbusPoint, value: ReadingValue, current = 0): number[] {
  switch (point.type) {
    case 'bool':
      return [encodeBool(point, Boolean(value), current)];
    case 'string':
      return encodeString(String(value), stringLength(point), point.order);
    default:
      return encodeNumber(point.type, unscaledRaw(point, value), registerSpan(point) * 2, point.order);
  }
}

function stringLength(point: ModbusPoint): number {
  if (point.length === undefined) throw new TypeError(`string point ${point.name} has no length`);
  return point.length;
}

/** BADC and DCBA swap the two bytes of every register. */
function swapsBytes(order: Order): boolean {
  return order === 'BADC' || order === 'DCBA';
}

/** CDAB and DCBA send the least significant register first. */
function swapsWords(order: Order): boolean {
  return order === 'CDAB' || order === 'DCBA';
}

function swapWord(word: number): number {
  return ((word & 0xff) << 8) | (word >> 8);
}

/** A register word in value orientation (bytes swapped back for BADC/DCBA). */
function readWord(block: Buffer, at: number, order: Order): number {
  return swapsBytes(order) ? block.readUInt16LE(at) : block.readUInt16BE(at);
}

/** Copies `bytes` bytes to the scratch buffer, swapping the two bytes of each register. */
function swapIntoScratch(source: Buffer, at: number, bytes: number): Buffer {
  for (let i = 0; i < bytes; i += 2) scratch.writeUInt16LE(source.readUInt16BE(at + i), i);
  return scratch;
}

function readNumber(type: NumericType, block: Buffer, at: number, bytes: number, order: Order): number | bigint {
  if (type === 'int16') return swapsBytes(order) ? block.readInt16LE(at) : block.readInt16BE(at);
  if (type === 'uint16') return readWord(block, at, order);
  const little = swapsWords(order);
  const reorder = swapsBytes(order) !== little;
  const source = reorder ? swapIntoScratch(block, at, bytes) : block;
  const pos = reorder ? 0 : at;
  switch (type) {
    case 'int32':
      return little ? source.readInt32LE(pos) : source.readInt32BE(pos);
    case 'uint32':
      return little ? source.readUInt32LE(pos) : source.readUInt32BE(pos);
    case 'float32':
      return shortestFloat32(little ? source.readFloatLE(pos) : source.readFloatBE(pos));
    case 'int64':
      return little ? source.readBigInt64LE(pos) : source.readBigInt64BE(pos);
    case 'uint64':
      return little ? source.readBigUInt64LE(pos) : source.readBigUInt64BE(pos);
    case 'float64':
      return little ? source.readDoubleLE(pos) : source.readDoubleBE(pos);
  }
}

/**
 * raw * scale + offset, the raw value untouched for the identity (keeps -0, keeps a 64-bit integer exact). Rounded to
 * 15 significant digits, all a double holds reliably, so 58 * 0.1 reads 5.8 and not 5.800000000000001.
 */
function scaled(point: ModbusPoint, raw: number | bigint): number | bigint {
  if (point.scale === 1 && point.offset === 0) return raw;
  const value = Number(raw) * point.scale + point.offset;
  return Number.isFinite(value) && value !== 0 ? Number(value.toPrecision(15)) : value;
}

/**
 * The shortest decimal that reads back as the same float32: 250.7175 rather than its widened double 250.717529296875.
 * Both are the same float32; the short one is what the device meant and what an operator compares thresholds with.
 * Nine significant digits always suffice for a float32.
 */
export function shortestFloat32(value: number): number {
  if (!Number.isFinite(value) || value === 0) return value;
  // A normal float32 carries more than 7 digits, so a shorter decimal that reads back would also be found by rounding
  // to 6 digits; subnormals carry fewer and may need as few as one.
  for (let digits = Math.abs(value) < FLOAT32_MIN_NORMAL ? 1 : 6; digits < 9; digits++) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === value) return candidate;
  }
  return Number(value.toPrecision(9));
}

const FLOAT32_MIN_NORMAL = 2 ** -126;

/** The raw value to store: a bigint stays exact where the point is an unscaled 64-bit integer. */
function unscaledRaw(point: ModbusPoint, value: ReadingValue): number | bigint {
  const exact = typeof value === 'bigint' && (point.type === 'int64' || point.type === 'uint64') && point.scale === 1 && point.offset === 0;
  return exact ? value : unscaled(point, Number(value));
}

function unscaled(point: ModbusPoint, value: number): number {
  if (point.scale === 1 && point.offset === 0) return value;
  // A zero scale decodes every raw value to `offset`, so any raw value inverts it.
  return point.scale === 0 ? 0 : (value - point.offset) / point.scale;
}

function decodeBool(point: ModbusPoint, word: number): boolean {
  return point.bit === undefined ? word !== 0 : ((word >> point.bit) & 1) === 1;
}

function encodeBool(point: ModbusPoint, on: boolean, current: number): number {
  const swap = swapsBytes(point.order);
  if (point.bit === undefined) return swap ? swapWord(on ? 1 : 0) : on ? 1 : 0;
  const word = swap ? swapWord(current) : current;
  const mask = 1 << point.bit;
  const merged = on ? word | mask : word & ~mask & 0xffff;
  return swap ? swapWord(merged) : merged;
}

function decodeString(block: Buffer, at: number, bytes: number, order: Order): string {
  const source = swapsBytes(order) ? swapIntoScratch(block, at, bytes) : block;
  const from = source === block ? at : 0;
  let end = from + bytes;
  while (end > from && (source[end - 1] === 0 || source[end - 1] === 0x20)) end--;
  return source.toString('latin1', from, end);
}

function encodeString(text: string, length: number, order: Order): number[] {
  const words: number[] = [];
  for (let i = 0; i < length; i++) {
    const word = (latin1At(text, 2 * i) << 8) | latin1At(text, 2 * i + 1);
    words.push(swapsBytes(order) ? swapWord(word) : word);
  }
  return words;
}

/** The latin1 byte of character `i`, NUL past the end. */
function latin1At(text: string, i: number): number {
  if (i >= text.length) return 0;
  const code = text.charCodeAt(i);
  return code > 0xff ? 0x3f : code;
}

function encodeNumber(type: NumericType, value: number | bigint, bytes: number, order: Order): number[] {
  if (type === 'int64' || type === 'uint64') return encodeBigInteger(clampBigInteger(type, value), bytes, order);
  const raw = Number(value);
  if (Number.isNaN(raw) && type !== 'float32' && type !== 'float64') throw new RangeError(`cannot encode NaN as ${type}`);
  if (type === 'int16' || type === 'uint16') {
    const word = clampInteger(type, raw) & 0xffff;
    return [swapsBytes(order) ? swapWord(word) : word];
  }
  // Lay the value out in the endianness decoding reads with, then undo the per-register swap decoding applies.
  const little = swapsWords(order);
  switch (type) {
    case 'int32':
    case 'uint32':
      if (little) scratch.writeUInt32LE(clampInteger(type, raw) >>> 0);
      else scratch.writeUInt32BE(clampInteger(type, raw) >>> 0);
      break;
    case 'float32':
      if (little) scratch.writeFloatLE(raw);
      else scratch.writeFloatBE(raw);
      break;
    case 'float64':
      if (little) scratch.writeDoubleLE(raw);
      else scratch.writeDoubleBE(raw);
      break;
  }
  return wordsOfScratch(bytes, order);
}

function encodeBigInteger(value: bigint, bytes: number, order: Order): number[] {
  if (swapsWords(order)) scratch.writeBigUInt64LE(BigInt.asUintN(64, value));
  else scratch.writeBigUInt64BE(BigInt.asUintN(64, value));
  return wordsOfScratch(bytes, order);
}

/** The words of the value laid out in the scratch buffer, with the per-register swap decoding applies undone. */
function wordsOfScratch(bytes: number, order: Order): number[] {
  if (swapsBytes(order) !== swapsWords(order)) swapIntoScratch(scratch, 0, bytes);
  const words: number[] = [];
  for (let i = 0; i < bytes; i += 2) words.push(scratch.readUInt16BE(i));
  return words;
}

function clampInteger(type: SmallIntegerType, raw: number): number {
  const [min, max] = smallIntegerRange[type];
  return Math.min(max, Math.max(min, Math.round(raw)));
}

function clampBigInteger(type: 'int64' | 'uint64', value: number | bigint): bigint {
  const min = type === 'int64' ? INT64_MIN : 0n;
  const max = type === 'int64' ? INT64_MAX : UINT64_MAX;
  if (typeof value === 'bigint') return value > max ? max : value < min ? min : value;
  const raw = value;
  if (Number.isNaN(raw)) throw new RangeError(`cannot encode NaN as ${type}`);
  // Number(max) rounds up to 2^63 / 2^64, so any double below it rounds to an integer within range.
  if (raw >= Number(max)) return max;
  if (raw <= Number(min)) return min;
  return BigInt(Math.round(raw));
}
