/** The probe's answers as text tables for a person, or JSON for a machine. No timestamps: the output is stable. */
import { tableNouns } from '../../drivers/modbus/addressing.js';
import type { ModbusTable } from '../../drivers/modbus/registers.js';
import type { ReadingValue } from '../../gateway/model.js';
import { formatColumns, type Align } from './columns.js';
import { orders16, types16, types32, types64, type BitRow, type Order, type RegisterRow } from './interpret.js';
import type { ProfileRow } from './profile-read.js';
import type { ScanResult } from './scan.js';

const allOrders: readonly Order[] = ['ABCD', 'CDAB', 'BADC', 'DCBA'];

export function formatValue(value: ReadingValue | undefined): string {
  if (value === undefined) return '';
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'number' && Object.is(value, -0)) return '-0';
  return String(value);
}

/** "holding registers 0..9 (40001..40010)". */
function rangeTitle(table: ModbusTable, rows: readonly { address: number; reference: string }[]): string {
  const first = rows[0];
  const last = rows.at(-1);
  if (!first || !last) return `no ${tableNouns[table]}s`;
  const noun = `${tableNouns[table]}${rows.length === 1 ? '' : 's'}`;
  return first === last ? `${noun} ${first.address} (${first.reference})` : `${noun} ${first.address}..${last.address} (${first.reference}..${last.reference})`;
}

export function renderRegisters(header: string, table: ModbusTable, rows: readonly RegisterRow[]): string {
  const out = [`${header}: ${rangeTitle(table, rows)}`, ''];
  const hints = (row: RegisterRow): string[] => [String(row.address), String(row.one_based), row.reference];
  out.push(
    ...formatColumns(
      ['address', '1-based', 'reference', 'hex', 'text', ...types16, ...types16.map((type) => `${type} BADC`)],
      rows.map((row) => [...hints(row), row.hex, row.text, ...orders16.flatMap((order) => types16.map((type) => formatValue(row[type]?.[order])))]),
      ['right', 'right', 'left', 'left', 'left', 'right', 'right', 'right', 'right'],
    ),
  );
  out.push(...wideSection('32-bit values from each register and the next', types32, rows));
  out.push(...wideSection('64-bit values from each register and the next three', types64, rows));
  out.push('', 'Byte orders: A is the most significant byte. ABCD big-endian, CDAB word swap, BADC byte swap, DCBA little-endian.');
  return out.join('\n') + '\n';
}

function wideSection(title: string, types: readonly (typeof types32[number] | typeof types64[number])[], rows: readonly RegisterRow[]): string[] {
  const body: string[][] = [];
  for (const row of rows) {
    types.forEach((type, i) => {
      const values = row[type];
      if (values) body.push([i === 0 ? String(row.address) : '', type, ...allOrders.map((order) => formatValue(values[order]))]);
    });
  }
  if (body.length === 0) return [];
  const align: Align[] = ['right', 'left', 'right', 'right', 'right', 'right'];
  return ['', title, ...formatColumns(['address', 'type', ...allOrders], body, align)];
}

export function renderBits(header: string, table: ModbusTable, rows: readonly BitRow[]): string {
  const lines = formatColumns(
    ['address', '1-based', 'reference', 'value'],
    rows.map((row) => [String(row.address), String(row.one_based), row.reference, formatValue(row.value)]),
    ['right', 'right', 'left', 'right'],
  );
  return [`${header}: ${rangeTitle(table, rows)}`, '', ...lines].join('\n') + '\n';
}

const bitTables = new Set<ModbusTable>(['coil', 'discrete']);

export function renderProfile(header: string, profile: string, rows: readonly ProfileRow[]): string {
  const lines = formatColumns(
    ['point', 'table', 'address', 'reference', 'type', 'order', 'value', 'unit', 'in the other byte orders'],
    rows.map((row) => [
      row.point,
      row.table,
      String(row.address),
      row.reference,
      row.type,
      bitTables.has(row.table) ? '' : row.order,
      row.error === undefined ? formatValue(row.value) : 'error',
      row.unit ?? '',
      row.error ??
        Object.entries(row.other_orders ?? {})
          .map(([order, value]) => `${order} ${formatValue(value)}`)
          .join('   '),
    ]),
    ['left', 'left', 'right', 'left', 'left', 'left', 'right', 'left', 'left'],
  );
  return [`${header}: profile ${profile}`, '', ...lines].join('\n') + '\n';
}

export function renderScan(header: string, scan: ScanResult): string {
  const answering = scan.units.filter((unit) => unit.answer !== 'malformed');
  const title = `${header}: ${answering.length} of ${scan.tried} unit ids answer (${scan.range}, reading ${scan.request})`;
  if (scan.units.length === 0) return `${title}\n`;
  const lines = formatColumns(
    ['unit', 'answer'],
    scan.units.map((unit) => [String(unit.unit), unit.detail]),
    ['right', 'left'],
  );
  return [title, '', ...lines].join('\n') + '\n';
}

/**
 * JSON with NaN and ±Infinity spelled out (JSON itself would turn them into null, hiding a float in the wrong order),
 * and exact 64-bit integers (the codec gives them as BigInt) as strings of digits.
 */
export function renderJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => ((typeof v === 'number' && !Number.isFinite(v)) || typeof v === 'bigint' ? String(v) : v), 2) + '\n';
}
