/**
 * Register addresses as manuals write them, and as they travel. Pure, no I/O.
 *
 * On the wire a register (or bit) address is 0-based: the first holding register is 0. Manuals write the same
 * register in three ways:
 *   - the wire address itself, 0                                   (address_base 0, the default)
 *   - a 1-based register number, 1                                 (address_base 1)
 *   - a Modicon reference, "40001": a digit naming the table (4 holding, 3 input, 0 coil, 1 discrete), then the
 *     1-based number in 4 digits, or 5 digits ("400001") past 9999. "4x0001" is the same with an x after the digit.
 * A reference is always 1-based, whatever the address_base. A plain number is never read as a reference: wire
 * address 40001 exists (SunSpec maps start at 40000), so the config tells the two apart by type: a number is an
 * address, a string is a reference.
 */
import type { ModbusTable } from './registers.js';

export type AddressBase = 0 | 1;

/** A Modicon reference ("40001", "4x0001") parsed: its table and its 1-based register number. */
export interface RegisterReference {
  readonly text: string;
  readonly table: ModbusTable;
  /** 1-based: the wire address is number - 1. */
  readonly number: number;
}

const tableDigits: Record<ModbusTable, string> = { coil: '0', discrete: '1', input: '3', holding: '4' };
const tablesByDigit = new Map(Object.entries(tableDigits).map(([table, digit]) => [digit, table as ModbusTable]));

/** What manuals call one entry of each table. */
export const tableNouns: Record<ModbusTable, string> = { coil: 'coil', discrete: 'discrete input', input: 'input register', holding: 'holding register' };

/** The last wire address of every table: 65535. */
export const LAST_ADDRESS = 0xffff;

/** "4xxxx" for holding registers: how manuals name the table of a reference. */
export function referenceFamily(table: ModbusTable): string {
  return `${tableDigits[table]}xxxx`;
}

/** The reference of a wire address: "40001" up to 9999, "410000" (6 digits) beyond. */
export function referenceOf(table: ModbusTable, wire: number): string {
  const number = wire + 1;
  return `${tableDigits[table]}${String(number).padStart(number > 9999 ? 5 : 4, '0')}`;
}

/** A reference parsed, or a sentence saying why `text` is none (for a config error or the probe's usage error). */
export function parseReference(text: string): RegisterReference | string {
  const match = /^([0134])([xX]?)(\d{4,5})$/.exec(text.trim());
  if (!match) {
    return `"${text}" is not a register reference (a table digit, 4 holding, 3 input, 0 coil or 1 discrete, then the 1-based register in 4 or 5 digits: "40001", "30010", "4x0001"); a plain address is a number, without quotes`;
  }
  const [, digit = '', , digits = ''] = match;
  const table = tablesByDigit.get(digit)!;
  const number = Number(digits);
  if (number === 0) return `"${text}": references count from 1 (the first ${tableNouns[table]} is "${referenceOf(table, 0)}")`;
  if (number > LAST_ADDRESS + 1) return `"${text}": past the last ${tableNouns[table]}, "${referenceOf(table, LAST_ADDRESS)}"`;
  return { text, table, number };
}

/** The wire address of a plain address in `base`, or why there is none. */
export function wireOfPlain(address: number, base: AddressBase): number | string {
  if (address < base) return `${address} does not exist with address_base 1 (the first register is 1); write address_base: 0 if ${address} is the wire address`;
  const wire = address - base;
  if (wire > LAST_ADDRESS) return `${address} is past the last register (${LAST_ADDRESS + base} with address_base ${base})`;
  return wire;
}
