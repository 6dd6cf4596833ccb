/** The probe's command line, checked before anything is opened: a mistake costs no timeout. */
import { parseArgs } from 'node:util';
import { parseReference, referenceFamily, LAST_ADDRESS } from '../../drivers/modbus/addressing.js';
import { MAX_BITS, MAX_REGISTERS } from '../../drivers/modbus/plan.js';
import { modbusTables, type ModbusTable } from '../../drivers/modbus/registers.js';
import { parseDuration } from '../../gateway/config/duration.js';
import { UsageError } from './exit-codes.js';
import { parseTarget, type Target } from './target.js';

export const USAGE = `Usage: npm run --silent probe -- TARGET [options]

TARGET   tcp://HOST[:PORT]                        (port 502 by default)
         rtu:///dev/ttyUSB0[?baud=9600&parity=none&stop=1&data=8]

Read a range (the default):
  --unit N          unit id (default 1)
  --table T         holding (default) | input | coil | discrete
  --address A       first wire (0-based) address, default 0; or a reference with an x: 4x0001, 3x0010, 0x0001, 1x0001
  --count C         registers (at most ${MAX_REGISTERS}) or bits (at most ${MAX_BITS}), default 10
Find the unit ids on a bus:
  --scan            read one register of each unit id (--table/--address choose which) and list those that answer
  --units LIST      unit ids to try, default 1-247 (e.g. 1-10,20)
Read a profile's points, decoded with their units:
  --profile NAME    config/profiles/NAME.yaml, or a path to a profile file
  --profiles-dir D  where named profiles are, default config/profiles
Common:
  --timeout T       per request: 500ms, 2s (default 1s; 200ms with --scan)
  --json            JSON instead of the table

Exit codes: 0 done, 1 unexpected error, 2 bad arguments or profile, 3 no answer (timeout; a scan found none),
4 connection or port failed (refused, no such port), 5 Modbus exception (named), 6 malformed answer (bad CRC).
`;

export type ProbeMode = { readonly kind: 'read'; readonly count: number } | { readonly kind: 'scan'; readonly units: readonly number[]; readonly range: string } | { readonly kind: 'profile'; readonly profile: string; readonly profilesDir: string };

export interface ProbeOptions {
  readonly target: Target;
  readonly unit: number;
  readonly table: ModbusTable;
  readonly address: number;
  readonly timeoutMs: number;
  readonly json: boolean;
  readonly mode: ProbeMode;
}

/** The options, or 'help'; throws UsageError naming what is wrong. */
export function parseProbeArgs(argv: readonly string[]): ProbeOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        unit: { type: 'string' },
        table: { type: 'string' },
        address: { type: 'string' },
        count: { type: 'string' },
        timeout: { type: 'string' },
        scan: { type: 'boolean' },
        units: { type: 'string' },
        profile: { type: 'string' },
        'profiles-dir': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'no target given' : `one target only, got ${positionals.join(' ')}`);
  if (values.scan && values.profile !== undefined) throw new UsageError('--scan and --profile do not go together');
  const target = parseTarget(positionals[0]!);
  const { table, address } = parseAddress(values.address ?? '0', values.table);
  const mode = modeOf(values, table, address);
  const unit = wholeNumber('--unit', values.unit ?? '1', target.kind === 'rtu' ? 1 : 0, target.kind === 'rtu' ? 247 : 255);
  return { target, unit, table, address, timeoutMs: timeoutOf(values.timeout, mode.kind === 'scan' ? 200 : 1000), json: values.json ?? false, mode };
}

function modeOf(values: { scan?: boolean; units?: string; profile?: string; 'profiles-dir'?: string; count?: string }, table: ModbusTable, address: number): ProbeMode {
  if (values.scan) {
    const range = values.units ?? '1-247';
    return { kind: 'scan', units: parseUnits(range), range };
  }
  if (values.units !== undefined) throw new UsageError('--units goes with --scan');
  if (values.profile !== undefined) return { kind: 'profile', profile: values.profile, profilesDir: values['profiles-dir'] ?? 'config/profiles' };
  const bits = table === 'coil' || table === 'discrete';
  const count = wholeNumber('--count', values.count ?? '10', 1, bits ? MAX_BITS : MAX_REGISTERS);
  if (address + count - 1 > LAST_ADDRESS) throw new UsageError(`--address ${address} --count ${count} runs past the last address, ${LAST_ADDRESS}`);
  return { kind: 'read', count };
}

/** A wire address, or a reference written with an x ("4x0001"), which also names the table. */
function parseAddress(text: string, tableOption: string | undefined): { table: ModbusTable; address: number } {
  const table = tableOption === undefined ? undefined : tableOf(tableOption);
  if (/^\d+$/.test(text)) return { table: table ?? 'holding', address: wholeNumber('--address', text, 0, LAST_ADDRESS) };
  // On the command line "40001" would be ambiguous (wire address 40001 exists), so a reference needs its x.
  const reference = /x/i.test(text) ? parseReference(text) : `--address ${text} is neither a wire address (0-${LAST_ADDRESS}) nor a reference like 4x0001`;
  if (typeof reference === 'string') throw new UsageError(`--address: ${reference}`);
  if (table && table !== reference.table) throw new UsageError(`--address ${text} is a ${referenceFamily(reference.table)} reference (${reference.table}), but --table is ${table}`);
  return { table: reference.table, address: reference.number - 1 };
}

function tableOf(text: string): ModbusTable {
  const table = modbusTables.find((name) => name === text);
  if (!table) throw new UsageError(`--table ${text} is not known (allowed: ${modbusTables.join(', ')})`);
  return table;
}

function wholeNumber(option: string, text: string, min: number, max: number): number {
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= min && value <= max)) throw new UsageError(`${option} ${text}: expected a whole number from ${min} to ${max}`);
  return value;
}

function timeoutOf(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const ms = /^\d+$/.test(text) ? Number(text) : parseDuration(text);
  if (ms === undefined || ms < 10 || ms > 60_000) throw new UsageError(`--timeout ${text}: expected a duration from 10ms to 60s, like 200ms or 2s`);
  return ms;
}

/** "1-247", "1,2,5-10": unit ids in the order given, each once. */
function parseUnits(text: string): number[] {
  const units = new Set<number>();
  for (const part of text.split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!match) throw new UsageError(`--units ${text}: expected unit ids and ranges like 1-247 or 1,2,5-10`);
    const first = wholeNumber('--units', match[1]!, 0, 255);
    const last = match[2] === undefined ? first : wholeNumber('--units', match[2], first, 255);
    for (let unit = first; unit <= last; unit++) units.add(unit);
  }
  return [...units];
}
