/** Which unit ids answer on a bus (or behind a TCP gateway): one short read each, in turn. */
import { referenceOf, tableNouns } from '../../drivers/modbus/addressing.js';
import { ModbusFailure, type BlockData, type ModbusLink } from '../../drivers/modbus/link.js';
import type { ModbusTable } from '../../drivers/modbus/registers.js';

export interface ScanOptions {
  readonly units: readonly number[];
  /** As the user wrote it ("1-247"), for the output. */
  readonly range: string;
  readonly table: ModbusTable;
  readonly address: number;
  readonly timeoutMs: number;
  /** Called before each unit id is tried (`tried` of them so far), and once at the end. */
  readonly progress: (tried: number, unit: number, found: number) => void;
  readonly onFound: (unit: ScannedUnit) => void;
}

export interface ScannedUnit {
  readonly unit: number;
  /** data: it answered the read; exception: it refused the read, but is there; malformed: something garbled answered. */
  readonly answer: 'data' | 'exception' | 'malformed';
  readonly detail: string;
}

export interface ScanResult {
  readonly tried: number;
  readonly range: string;
  /** What was read of each unit: "holding register 0 (40001)". */
  readonly request: string;
  readonly units: ScannedUnit[];
}

/** A unit that does not answer in time is absent; a link that fails ends the scan (ModbusFailure 'link'). */
export async function scanUnits(link: ModbusLink, opts: ScanOptions): Promise<ScanResult> {
  const units: ScannedUnit[] = [];
  for (const [index, unit] of opts.units.entries()) {
    opts.progress(index, unit, units.length);
    const found = await tryUnit(link, unit, opts);
    if (found) {
      units.push(found);
      opts.onFound(found);
    }
  }
  opts.progress(opts.units.length, opts.units.at(-1) ?? 0, units.length);
  return { tried: opts.units.length, range: opts.range, request: `${tableNouns[opts.table]} ${opts.address} (${referenceOf(opts.table, opts.address)})`, units };
}

/** The unit's answer, or undefined when it is silent (not there). */
async function tryUnit(link: ModbusLink, unit: number, opts: ScanOptions): Promise<ScannedUnit | undefined> {
  try {
    const data = await link.read(unit, { table: opts.table, start: opts.address, count: 1, points: [] }, opts.timeoutMs);
    return { unit, answer: 'data', detail: describeData(opts.table, opts.address, data) };
  } catch (error) {
    if (!(error instanceof ModbusFailure) || error.kind === 'link') throw error;
    if (error.kind === 'exception') return { unit, answer: 'exception', detail: `${error.message}: the unit is there, the address is not` };
    if (error.kind === 'malformed') return { unit, answer: 'malformed', detail: `${error.message}: something answers, perhaps at another baud rate or parity` };
    return undefined;
  }
}

function describeData(table: ModbusTable, address: number, data: BlockData): string {
  if ('bits' in data) return `${tableNouns[table]} ${address} = ${data.bits[0] ? 1 : 0}`;
  const word = data.registers.readUInt16BE(0);
  return `${tableNouns[table]} ${address} = 0x${word.toString(16).padStart(4, '0')} (${word})`;
}
