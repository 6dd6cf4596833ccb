/**
 * What a range of registers (or bits) could mean: every register as every type the driver knows, in every byte
 * order, decoded by the driver's own codec, with the address in each notation a manual might use. Pure, no I/O.
 */
import { referenceOf } from '../../drivers/modbus/addressing.js';
import { decodePoint } from '../../drivers/modbus/codec.js';
import { modbusPointSchema } from '../../drivers/modbus/config.js';
import { byteOrders, type ModbusTable, type RegisterType } from '../../drivers/modbus/registers.js';
import type { ReadingValue } from '../../gateway/model.js';

export type Order = (typeof byteOrders)[number];

/** For 16-bit types only the byte swap matters: CDAB reads like ABCD, DCBA like BADC (see codec.ts). */
export const orders16: readonly Order[] = ['ABCD', 'BADC'];
export const types16 = ['uint16', 'int16'] as const;
export const types32 = ['int32', 'uint32', 'float32'] as const;
export const types64 = ['int64', 'uint64', 'float64'] as const;
type NumericType = (typeof types16)[number] | (typeof types32)[number] | (typeof types64)[number];

/** One address in the notations manuals use. */
export interface AddressHints {
  /** The wire (0-based) address. */
  readonly address: number;
  readonly one_based: number;
  /** The Modicon reference: 4xxxx holding, 3xxxx input, 0xxxx coil, 1xxxx discrete. */
  readonly reference: string;
}

/** One register and every value that starts at it: the 32- and 64-bit types only where enough registers follow. */
export type RegisterRow = AddressHints & {
  readonly hex: string;
  /** The two bytes as latin1 characters, '.' for unprintable ones: a string register shows at a glance. */
  readonly text: string;
} & Partial<Record<NumericType, Partial<Record<Order, ReadingValue>>>>;

export type BitRow = AddressHints & { readonly value: boolean };

export function hintsOf(table: ModbusTable, address: number): AddressHints {
  return { address, one_based: address + 1, reference: referenceOf(table, address) };
}

/** `registers` as read (2 bytes per register, big-endian as on the wire), starting at wire address `start`. */
export function interpretRegisters(table: ModbusTable, start: number, registers: Buffer): RegisterRow[] {
  const count = registers.length / 2;
  const rows: RegisterRow[] = [];
  for (let i = 0; i < count; i++) {
    const address = start + i;
    const values: Partial<Record<NumericType, Partial<Record<Order, ReadingValue>>>> = {};
    for (const type of types16) values[type] = decodeAll(type, orders16, address, registers, start);
    if (i + 2 <= count) for (const type of types32) values[type] = decodeAll(type, byteOrders, address, registers, start);
    if (i + 4 <= count) for (const type of types64) values[type] = decodeAll(type, byteOrders, address, registers, start);
    rows.push({ ...hintsOf(table, address), hex: registers.toString('hex', 2 * i, 2 * i + 2), text: printable(registers, 2 * i), ...values });
  }
  return rows;
}

export function interpretBits(table: ModbusTable, start: number, bits: readonly boolean[]): BitRow[] {
  return bits.map((value, i) => ({ ...hintsOf(table, start + i), value }));
}

function decodeAll(type: RegisterType, orders: readonly Order[], address: number, block: Buffer, start: number): Partial<Record<Order, ReadingValue>> {
  return Object.fromEntries(orders.map((order) => [order, decodePoint(modbusPointSchema.parse({ name: 'probe', address, type, order }), block, start)]));
}

function printable(block: Buffer, at: number): string {
  return [block[at]!, block[at + 1]!].map((byte) => (byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : '.')).join('');
}
